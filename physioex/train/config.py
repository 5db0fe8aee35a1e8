"""Training hyper-parameters: defaults, a named recipe, the ``train:`` section of params.yaml, then CLI
overrides."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from physioex.choices import Model, Normalisation, names
from physioex.errors import InputError
from physioex.train import checks
from physioex.train.recipes import RECIPES, recipe_names

DEFAULT_PARAMS = Path("params.yaml")
"""The params file read when none is named; unlike a named one it may be absent."""


@dataclass
class TrainConfig:
    """Everything that changes a training run (recorded in every checkpoint)."""

    recipe: str | None = None
    """The named recipe (``physioex.train.recipes``) the values started from, or None. Applied by
    ``make_config`` under the params file and options; the other fields hold the effective values."""
    model: str = Model.CHAMBON2018.value
    """``tinysleepnet`` or ``chambon2018``."""
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    """Constructor arguments of the model class (paper names, e.g. ``n_rnn_units``)."""
    channels: list[str] = field(default_factory=list)
    """Store channels fed to the model, in order; empty = all channels of the store."""
    seq_len: int = 21
    """L, epochs per sequence."""
    batch_size: int = 32
    """Sequences per batch."""
    eval_batch_size: int = 64
    """Sequences per batch at validation/test (whole nights, large batches)."""
    lr: float = 1e-3
    """Adam learning rate (TinySleepNet's paper: 1e-4)."""
    weight_decay: float = 0.0
    """Adam weight decay on all parameters."""
    l2_conv: float = 0.0
    """L2 penalty on convolution kernels only (TinySleepNet: 1e-3)."""
    grad_clip: float = 5.0
    """Gradient-norm clipping (TinySleepNet: 5)."""
    class_weights: list[float] | None = None
    """Loss weight per class W, N1, N2, N3, REM (TinySleepNet: [1, 1.5, 1, 1, 1]); None = equal."""
    normalisation: str = Normalisation.GLOBAL.value
    """``global`` (train-subject mean/std per channel), ``recording`` (per night) or ``none``."""
    augment: bool = True
    """TinySleepNet augmentations: signal shift and random sequence start (skip)."""
    max_shift_fraction: float = 0.1
    """Largest signal shift as a fraction of an epoch (0.1 = +-3 s)."""
    max_skip: int | None = None
    """Largest random start offset in epochs (TinySleepNet: 4); None = L - 1."""
    max_epochs: int = 20
    """Passes over the training windows."""
    patience: int = 5
    """Early stopping: passes without validation macro-F1 improvement."""
    num_workers: int = 2
    """DataLoader worker processes (each opens the store itself)."""
    cache_recordings: int = 8
    """Whole recordings kept in memory per worker (training windows are shuffled within such groups)."""
    seed: int = 0
    limit_train_batches: float | int = 1.0
    """Lightning's limit (fraction or number of batches per pass); for quick runs."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, where: Mapping[str, str] | None = None) -> None:
        """Check every field's type and range; ``where[key]`` names the value's source in the error
        (default ``TrainConfig.<key>``). Normalises in place (e.g. ``lr: "1e-3"`` -> 0.001)."""
        labels = {k: f"TrainConfig.{k}" for k in self.keys()} | dict(where or {})
        for k, v in check_values({k: getattr(self, k) for k in self.keys()}, labels).items():
            setattr(self, k, v)

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int(minimum: int | None = None, maximum: int | None = None) -> Callable[[Any, str], int]:
    return lambda v, w: checks.integer(v, w, minimum, maximum)


def _num(
    minimum: float, exclusive: bool = False, maximum: float | None = None
) -> Callable[[Any, str], float]:
    return lambda v, w: checks.number(v, w, minimum, exclusive=exclusive, maximum=maximum)


def _model(v: Any, w: str) -> str:
    return checks.choice(v, w, sorted(names(Model)))


def _recipe(v: Any, w: str) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or v not in RECIPES:
        hint = checks.did_you_mean(v, recipe_names()) if isinstance(v, str) else ""
        raise InputError(
            f"{w}: unknown recipe {v!r}{hint}; choose one of {', '.join(recipe_names())} (docs/recipes.md)"
        )
    return v


def _mapping(v: Any, w: str) -> dict[str, Any]:
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        raise InputError(f"{w}: must be a mapping of argument names to values, got {v!r}")
    return dict(v)


def _channels(v: Any, w: str) -> list[str]:
    if isinstance(v, str):  # "EEG Fpz-Cz,EOG horizontal", as on the command line
        v = [c.strip() for c in v.split(",") if c.strip()]
    if not isinstance(v, list | tuple) or not all(isinstance(c, str) and c.strip() for c in v):
        raise InputError(f"{w}: must be a list of store channel names, got {v!r}")
    if len(set(v)) != len(v):
        raise InputError(f"{w}: names a channel twice: {list(v)}")
    return list(v)


def _class_weights(v: Any, w: str) -> list[float] | None:
    if v is None:
        return None
    if not isinstance(v, list | tuple) or len(v) != 5:
        raise InputError(f"{w}: must be 5 weights (W, N1, N2, N3, REM) or null, got {v!r}")
    out = [checks.number(x, f"{w}[{i}]", 0.0) for i, x in enumerate(v)]
    if not any(out):
        raise InputError(f"{w}: at least one weight must be > 0, got {v!r}")
    return out


def _bool(v: Any, w: str) -> bool:
    if not isinstance(v, bool):
        raise InputError(f"{w}: must be true or false, got {v!r}")
    return v


def _limit(v: Any, w: str) -> float | int:
    if isinstance(v, float) and 0.0 < v <= 1.0:
        return v
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return v
    raise InputError(f"{w}: must be a fraction in (0, 1] or a number of batches >= 1, got {v!r}")


def _normalisation(v: Any, w: str) -> str:
    return checks.choice(v, w, names(Normalisation))


_FIELD_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "recipe": _recipe,
    "model": _model,
    "model_kwargs": _mapping,
    "channels": _channels,
    "seq_len": _int(1),
    "batch_size": _int(1),
    "eval_batch_size": _int(1),
    "lr": _num(0.0, exclusive=True),
    "weight_decay": _num(0.0),
    "l2_conv": _num(0.0),
    "grad_clip": _num(0.0),
    "class_weights": _class_weights,
    "normalisation": _normalisation,
    "augment": _bool,
    "max_shift_fraction": _num(0.0, maximum=1.0),
    "max_skip": lambda v, w: None if v is None else checks.integer(v, w, 0),
    "max_epochs": _int(1),
    "patience": _int(1),
    "num_workers": _int(0),
    "cache_recordings": _int(1),
    "seed": _int(0, 2**32 - 1),
    "limit_train_batches": _limit,
}
"""One check per ``TrainConfig`` field: ``(value, where) -> normalised value`` or ``InputError``."""


def _check_model_kwargs(model: str, kwargs: dict[str, Any], where: str) -> None:
    """Refuse constructor arguments the model class does not take (a TypeError deep in training otherwise)."""
    import inspect

    from physioex.models import MODELS

    sig = inspect.signature(MODELS[model].__init__)
    known = [n for n in sig.parameters if n not in ("self", "n_channels", "sampling_rate", "n_classes")]
    for k in kwargs:
        if k not in known:
            raise InputError(
                f"{where}.{k}: {model} takes no argument {k!r}{checks.did_you_mean(k, known)}; "
                f"its arguments: {', '.join(known)}"
            )


def check_values(values: Mapping[str, Any], where: Mapping[str, str]) -> dict[str, Any]:
    """Validate the ``TrainConfig`` fields in ``values`` (unknown keys refused); ``where[key]`` names
    each value's source (``params.yaml: train.seq_len``, ``--seq-len``). Returns normalised values."""
    known = TrainConfig.keys()
    out: dict[str, Any] = {}
    for k, v in values.items():
        if k not in _FIELD_CHECKS:
            raise InputError(
                f"{where.get(k, k)}: unknown training parameter{checks.did_you_mean(k, known)}; "
                f"known: {', '.join(known)}"
            )
        out[k] = _FIELD_CHECKS[k](v, where.get(k, k))
    if "model_kwargs" in out:
        model = out.get("model", TrainConfig.model)
        _check_model_kwargs(model, out["model_kwargs"], where.get("model_kwargs", "model_kwargs"))
    return out


def read_params(path: Path | str | None, section: str = "train") -> dict[str, Any]:
    """The ``section`` mapping of a params.yaml (``{}`` if the section is absent, or if ``path`` is the
    default ``params.yaml`` and it does not exist). A named file missing or invalid: ``InputError``."""
    if path is None:
        return {}
    path = Path(path)
    if not path.exists():
        if path == DEFAULT_PARAMS:
            return {}
        raise InputError(f"--params {path}: does not exist; give an existing params file or omit --params")
    if not path.is_file():
        raise InputError(f"--params {path}: is a folder, not a YAML file")
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(f"{path}: invalid YAML{at}: {problem}; fix the file") from None
    if not isinstance(data, dict):
        raise InputError(
            f"{path}: expected a mapping of sections at the top level, got {type(data).__name__}"
        )
    sec = data.get(section) or {}
    if not isinstance(sec, dict):
        raise InputError(f"{path}: {section}: must be a mapping of parameter names to values")
    return sec


def _copy(value: Any) -> Any:
    """A recipe value that the run may normalise or change without changing the recipe."""
    if isinstance(value, dict):
        return dict(value)
    return list(value) if isinstance(value, list | tuple) else value


def _override_label(key: str, overrides_from: str) -> str:
    return f"--{key.replace('_', '-')}" if overrides_from == "cli" else f"train({key}=...)"


def make_config(
    params: dict[str, Any],
    overrides: dict[str, Any],
    *,
    params_file: Path | str | None = None,
    overrides_from: str = "api",
) -> TrainConfig:
    """Defaults <- recipe <- params (params.yaml ``train:``) <- overrides (CLI or API; None = not given).

    The recipe is ``overrides["recipe"]`` if given, else ``params["recipe"]``: a name of
    ``physioex.train.recipes.RECIPES`` whose values fill in every key the params and overrides do not
    set. A params key ``models: {name: {...}}`` holds per-model settings (e.g. lr, model_kwargs) that
    apply when that model is chosen (over the params' other keys, under the overrides). Every value is
    validated; errors name its source: ``recipe <name>: <key>``, ``<params_file>: train.<key>`` or the
    option (``overrides_from="cli"``) / argument (``"api"``).

    Parameters
    ----------
    params
        The params file's ``train:`` mapping (:func:`read_params`).
    overrides
        ``TrainConfig`` field -> value from the command line or the Python API; None values are ignored.
    params_file
        The params file's name, for error messages.
    overrides_from
        ``"cli"`` (errors name ``--option``) or ``"api"`` (errors name ``train(key=...)``).

    Returns
    -------
    TrainConfig
        The validated configuration.
    """
    src = str(params_file) if params_file is not None else "params"
    where: dict[str, str] = {}
    merged: dict[str, Any] = {}
    if overrides.get("recipe") is not None:
        recipe = _recipe(overrides["recipe"], _override_label("recipe", overrides_from))
    else:
        recipe = _recipe(params.get("recipe"), f"{src}: train.recipe")
    if recipe is not None:
        merged.update({k: _copy(v) for k, v in RECIPES[recipe].items()})
        where.update({k: f"recipe {recipe}: {k}" for k in RECIPES[recipe]})
    for k, v in params.items():
        if k != "models":
            merged[k] = v
            where[k] = f"{src}: train.{k}"
    for k, v in overrides.items():
        if v is not None:
            merged[k] = v
            where[k] = _override_label(k, overrides_from)
    models = params.get("models") or {}
    if not isinstance(models, dict):
        raise InputError(f"{src}: train.models: must be a mapping of model name to settings, got {models!r}")
    merged["model"] = _model(merged.get("model", TrainConfig.model), where.get("model", "model"))
    for name, settings in models.items():
        _model(name, f"{src}: train.models.{name}")
        if settings is not None and not isinstance(settings, dict):
            raise InputError(f"{src}: train.models.{name}: must be a mapping of parameter names to values")
        for k, v in (settings or {}).items():
            label = f"{src}: train.models.{name}.{k}"
            if k in ("model", "models"):
                raise InputError(f"{label}: cannot be set per model")
            checked = check_values({k: v}, {k: label}) if k != "model_kwargs" else {k: _mapping(v, label)}
            if name == merged["model"] and overrides.get(k) is None:
                merged[k] = checked[k]
                where[k] = label
    return TrainConfig(**check_values(merged, where))
