"""Reliability of train/test/predict/explain inputs: outputs never overwrite inputs, and every bad
parameter (CLI option, params.yaml key, --preset key, Python argument) is refused before any work
with one ``error:`` line naming the file and the key, exit 2, no traceback, nothing on disk changed.

Everything is real: a demo mirror generated, downloaded and preprocessed by the real pipeline, a
checkpoint from a real ``physioex train`` subprocess, the CLI in subprocesses, files compared by SHA-256.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from helpers import assert_one_error, run_physioex

from physioex.errors import InputError
from physioex.io.hashing import sha256_file

REPO = Path(__file__).resolve().parents[2]
TINY = "train:\n  seq_len: 5\n  batch_size: 4\n  max_epochs: 1\n  num_workers: 0\n  limit_train_batches: 2\n"
"""A 1-pass, 2-batch training run: enough for a real checkpoint."""


@dataclass(frozen=True)
class Demo:
    """The shared, read-only inputs of every test."""

    root: Path
    store: Path
    models: Path
    best: Path
    last: Path
    psg: Path
    params: Path


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m physioex.cli ARGS`` in ``cwd``; returns the finished process."""
    return run_physioex(*args, cwd=cwd, env={"PYTHONPATH": str(REPO), "COLUMNS": "200"}, timeout=600)


def tree(*roots: Path) -> dict[str, str]:
    """Every file (SHA-256) and folder (``dir``) under ``roots``: any write, new file or folder shows."""
    out: dict[str, str] = {}
    for root in roots:
        for base, dirs, files in os.walk(root):
            for d in dirs:
                out[os.path.join(base, d)] = "dir"
            for f in files:
                out[os.path.join(base, f)] = sha256_file(os.path.join(base, f))
    return out


def refused_and_unchanged(demo: Demo, tmp_path: Path, args: list[str | Path], *needles: str) -> str:
    """Run the CLI in ``tmp_path``: it must refuse (exit 2, one ``error:`` line) and write nothing."""
    before = tree(demo.root, tmp_path)
    line = assert_one_error(cli(*args, cwd=tmp_path), 2, *needles)
    assert tree(demo.root, tmp_path) == before
    return line


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """3 subjects x 1 night of 2.5 h (the demo generator's minimum), preprocessed, and one real
    `physioex train` run of one pass (fold 0)."""
    from physioex.download.run import download
    from physioex.preprocess.run import preprocess
    from physioex.synth import generate_mirror

    root = tmp_path_factory.mktemp("reliability-inputs")
    mirror = generate_mirror(
        root / "mirror", subjects=3, nights=1, seed=0, hours=2.5, dreem_records=0, other_layouts=False
    )
    report = download("demo", mirror=mirror, out=root / "raw", progress=False)
    assert not report.failed and not report.refused
    store = root / "store.zarr"
    assert preprocess("demo", raw=root / "raw", out=store, progress=False).ok
    params = root / "params.yaml"
    params.write_text(TINY)
    proc = cli(
        "train", "--store", store, "--out", root / "models", "--params", params, "--no-progress", cwd=root
    )
    assert proc.returncode == 0, proc.stderr
    psg = root / "night.edf"
    shutil.copyfile(root / "raw" / "sleep-cassette" / "SC4001E0-PSG.edf", psg)
    fold = root / "models" / "fold-0"
    return Demo(root, store, root / "models", fold / "best.ckpt", fold / "last.ckpt", psg, params)


# -- outputs never overwrite inputs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--out", "night.csv"], ["--edf-out (default: the --out path night.csv with .edf)", "night.edf"]),
        (["--out", "night.edf"], ["--out", "overwrite the input", "night.edf"]),
        (["--out", "./x/../night.edf"], ["--out", "overwrite the input"]),
        (["--out", "h.csv", "--edf-out", "night.edf"], ["--edf-out", "overwrite the input", "night.edf"]),
        (["--out", "CKPT"], ["--out", "overwrite the input", "best.ckpt"]),
        (["--out", "h.csv", "--edf-out", "CKPT"], ["--edf-out", "overwrite the input", "best.ckpt"]),
    ],
    ids=["derived-edf", "csv-is-psg", "csv-is-psg-dotdot", "edf-is-psg", "csv-is-ckpt", "edf-is-ckpt"],
)
def test_predict_never_writes_over_its_psg_or_checkpoint(
    demo: Demo, tmp_path: Path, args: list[str], needles: list[str]
) -> None:
    psg = tmp_path / "night.edf"
    shutil.copyfile(demo.psg, psg)
    digest = sha256_file(psg)
    args = [str(demo.best) if a == "CKPT" else a for a in args]
    refused_and_unchanged(
        demo, tmp_path, ["predict", "night.edf", "--checkpoint", demo.best, *args], *needles
    )
    assert sha256_file(psg) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night.edf"]


def test_predict_writes_elsewhere_and_leaves_the_psg_byte_identical(demo: Demo, tmp_path: Path) -> None:
    psg = tmp_path / "night.edf"
    shutil.copyfile(demo.psg, psg)
    digest = sha256_file(psg)
    proc = cli(
        "predict", psg, "--checkpoint", demo.best, "--out", tmp_path / "out" / "night.csv", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert sha256_file(psg) == digest
    assert (tmp_path / "out" / "night.csv").stat().st_size > 0 and (tmp_path / "out" / "night.edf").is_file()


@pytest.mark.parametrize(
    ("command", "args", "needles"),
    [
        ("test", ["--out", "STORE"], ["--out", "overwrite the input", "store.zarr"]),
        ("test", ["--out", "STORE/report"], ["--out", "overwrite the input", "store.zarr"]),
        ("test", ["--out", "MODELS"], ["--out", "overwrite the input", "models"]),
        ("test", ["--out", "MODELS/fold-0"], ["--out", "overwrite the input"]),
        ("test", ["--out", "ROOT"], ["--out", "overwrite the input"]),
        ("explain", ["--out", "STORE"], ["--out", "overwrite the input", "store.zarr"]),
        ("explain", ["--out", "ROOT"], ["--out", "overwrite the input"]),
        ("explain", ["--out", "ex", "--metrics", "STORE/zarr.json"], ["--metrics", "overwrite the input"]),
        ("explain", ["--out", "ex", "--metrics", "BEST"], ["--metrics", "overwrite the input", "best.ckpt"]),
        ("explain", ["--out", "MODELS/fold-0"], ["--out", "overwrite the input", "best.ckpt"]),
        ("train", ["--out", "STORE"], ["--out (writes", "fold-0", "overwrite the input", "store.zarr"]),
        ("train", ["--out", "STORE/models"], ["--out (writes", "overwrite the input", "store.zarr"]),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(a for a in v if not a.startswith("--"))[:40],
)
def test_outputs_over_inputs_are_refused(
    demo: Demo, tmp_path: Path, command: str, args: list[str], needles: list[str]
) -> None:
    names = {
        "STORE": demo.store,
        "MODELS": demo.models,
        "ROOT": demo.root,
        "BEST": demo.best,
    }

    def sub(a: str) -> str:
        head, _, tail = a.partition("/")
        return str(names[head] / tail) if head in names else a

    inputs = {
        "test": ["--checkpoint", demo.models, "--store", demo.store, "--no-progress"],
        "explain": ["--checkpoint", demo.best, "--store", demo.store, "--no-progress"],
        "train": ["--store", demo.store, "--params", demo.params, "--no-progress"],
    }[command]
    refused_and_unchanged(demo, tmp_path, [command, *inputs, *map(sub, args)], *needles)


def test_explain_refuses_to_replace_a_folder_that_is_not_its_own(demo: Demo, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("years of work")
    refused_and_unchanged(
        demo,
        tmp_path,
        ["explain", "--checkpoint", demo.best, "--store", demo.store, "--out", notes],
        f"--out {notes}: is a non-empty folder that is not an explain output",
    )


# -- train: params.yaml and the Python API -------------------------------------------------------


def _train_key(key: str, value: str, rest: str, on_cli: bool) -> tuple[str, str, bool]:
    """The params.yaml ``train: {key: value}`` and its refusal: ``train.KEY`` then ``rest``."""
    return f"train:\n  {key}: {value}\n", f"train.{key}{rest}", on_cli


PARAMS_CASES = [
    # (params.yaml text, expected text after "<file>: ", also through the CLI?)
    _train_key("seq_len", "0", ": must be an integer >= 1, got 0", True),
    _train_key("lr", "fast", ": must be a number > 0, got 'fast'", True),
    _train_key("batch_size", "0", ": must be an integer >= 1, got 0", True),
    _train_key("max_epochs", "0", ": must be an integer >= 1, got 0", True),
    _train_key("patience", "-1", ": must be an integer >= 1, got -1", True),
    _train_key("model", "resnet", ": must be one of chambon2018, tinysleepnet, got 'resnet'", True),
    _train_key("normalisation", "zscore", ": must be one of global, recording, none", True),
    _train_key("sq_len", "5", ": unknown training parameter (did you mean seq_len?)", True),
    ("train:\n  seq_len: [1\n", "invalid YAML at line 3, column 1", True),
    _train_key("seq_len", "2.5", ": must be an integer >= 1, got 2.5", False),
    _train_key("lr", "-0.1", ": must be a number > 0, got -0.1", False),
    _train_key("num_workers", "-2", ": must be an integer >= 0, got -2", False),
    _train_key("augment", "'yes'", ": must be true or false, got 'yes'", False),
    _train_key("class_weights", "[1, 2]", ": must be 5 weights", False),
    _train_key("limit_train_batches", "0", ": must be a fraction in (0, 1]", False),
    _train_key("channels", "[EEG Fpz-Cz, EEG Fpz-Cz]", ": names a channel twice", False),
    _train_key("model_kwargs", "{n_conv: 3}", ".n_conv: chambon2018 takes no argument", False),
    _train_key("models", "{tinysleepnet: {lr: x}}", ".tinysleepnet.lr: must be a number > 0", False),
    _train_key("models", "{resnet: {lr: 0.1}}", ".resnet: must be one of", False),
    ("train: 3\n", "train: must be a mapping of parameter names to values", False),
    ("- train\n", "expected a mapping of sections at the top level", False),
]


@pytest.mark.parametrize(("yaml_text", "needle"), [(t, n) for t, n, on_cli in PARAMS_CASES if on_cli])
def test_bad_params_yaml_names_the_file_and_key(
    demo: Demo, tmp_path: Path, yaml_text: str, needle: str
) -> None:
    params = tmp_path / "my-params.yaml"
    params.write_text(yaml_text)
    args = ["train", "--store", demo.store, "--out", tmp_path / "m", "--params", params, "--no-progress"]
    refused_and_unchanged(demo, tmp_path, args, f"error: {params}: {needle}")


@pytest.mark.parametrize(("yaml_text", "needle"), [(t, n) for t, n, _ in PARAMS_CASES])
def test_bad_params_yaml_through_the_python_api(
    demo: Demo, tmp_path: Path, yaml_text: str, needle: str
) -> None:
    import re

    from physioex.train.run import train

    params = tmp_path / "my-params.yaml"
    params.write_text(yaml_text)
    with pytest.raises(InputError, match="^" + re.escape(f"{params}: {needle}")):
        train(demo.store, out=tmp_path / "m", params=params, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-params.yaml"]


def test_the_python_api_validates_like_the_cli(demo: Demo, tmp_path: Path) -> None:
    from physioex.train.config import TrainConfig, make_config
    from physioex.train.run import train

    with pytest.raises(InputError, match=r"^TrainConfig\.seq_len: must be an integer >= 1, got 0$"):
        TrainConfig(seq_len=0)
    with pytest.raises(InputError, match=r"^p\.yaml: train\.lr: must be a number > 0, got 'fast'$"):
        make_config({"lr": "fast"}, {}, params_file="p.yaml")
    for kwargs, needle in [
        ({"seq_len": 0}, r"^train\(seq_len=\.\.\.\): must be an integer >= 1, got 0$"),
        ({"max_epochs": 0}, r"^train\(max_epochs=\.\.\.\): must be an integer >= 1, got 0$"),
        ({"batch_size": True}, r"^train\(batch_size=\.\.\.\): must be an integer >= 1, got True$"),
        ({"patience": -1}, r"^train\(patience=\.\.\.\): must be an integer >= 1, got -1$"),
        ({"num_workers": -1}, r"^train\(num_workers=\.\.\.\): must be an integer >= 0, got -1$"),
        ({"normalisation": "z"}, r"^train\(normalisation=\.\.\.\): must be one of global, recording, none"),
        ({"num_nodes": 0}, r"^train\(num_nodes=\.\.\.\): must be an integer >= 1, got 0$"),
        ({"resume": True, "seq_len": 2.0}, r"^train\(seq_len=\.\.\.\): must be an integer >= 1, got 2\.0$"),
        ({"fold": "one"}, r"^train\(fold=\.\.\.\): must be a fold number"),
    ]:
        with pytest.raises(InputError, match=needle):
            train(demo.store, **{"out": tmp_path / "m", "params": None, "progress": False, **kwargs})
    assert not (tmp_path / "m").exists()
    # valid spellings still work: YAML reads 1e-3 as a string, a comma-separated channel list
    cfg = make_config({"lr": "1e-3", "channels": "EEG Fpz-Cz"}, {}, params_file="p.yaml")
    assert cfg.lr == 0.001 and cfg.channels == ["EEG Fpz-Cz"]
    import yaml

    repo_params = yaml.safe_load((REPO / "params.yaml").read_text())["train"]
    assert make_config(repo_params, {}).recipe == repo_params["recipe"]


# -- train --resume -------------------------------------------------------------------------------


def _garbage(last: Path, _: Demo) -> None:
    last.write_bytes(b"this is not a checkpoint\n" * 10)


def _truncated(last: Path, _: Demo) -> None:
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 3])


def _plain_state_dict(last: Path, demo: Demo) -> None:
    torch.save(torch.load(demo.last, weights_only=True)["state_dict"], last)


def _pickled_object(last: Path, demo: Demo) -> None:
    ckpt = torch.load(demo.last, weights_only=True)
    ckpt["payload"] = Path("/etc/passwd")  # an arbitrary object: weights_only=True refuses it
    torch.save(ckpt, last)


@pytest.mark.parametrize(
    ("spoil", "extra", "needle"),
    [
        (_garbage, [], "not a readable checkpoint (truncated or not a PyTorch file"),
        (_truncated, [], "not a readable checkpoint (truncated or not a PyTorch file"),
        (_plain_state_dict, [], "not a PyTorch Lightning checkpoint (no state_dict"),
        (_pickled_object, [], "holds pickled Python objects"),
        (None, ["--seq-len", "6"], "was written by another run (seq_len 5, this run 6)"),
        (None, ["--model", "tinysleepnet"], "was written by another run (model 'chambon2018'"),
    ],
    ids=["garbage", "truncated", "plain-state-dict", "pickled-object", "other-seq-len", "other-model"],
)
def test_resume_from_an_unusable_last_ckpt_is_one_line(
    demo: Demo, tmp_path: Path, spoil: object, extra: list[str], needle: str
) -> None:
    out = tmp_path / "models"
    shutil.copytree(demo.models, out)
    last = out / "fold-0" / "last.ckpt"
    if callable(spoil):
        spoil(last, demo)
    args = ["train", "--store", demo.store, "--params", demo.params, "--out", out, "--resume", *extra]
    line = refused_and_unchanged(demo, tmp_path, [*args, "--no-progress"], needle)
    assert f"checkpoint {last}: " in line and line.endswith("; delete it or drop --resume")


def test_resume_from_a_genuine_last_ckpt_continues(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "models"
    shutil.copytree(demo.models, out)
    args = ["--store", demo.store, "--params", demo.params, "--out", out, "--resume", "--max-epochs", "2"]
    proc = cli("train", *args, "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert torch.load(out / "fold-0" / "last.ckpt", weights_only=True)["epoch"] == 1  # the second pass


# -- bad options of train, predict, test and explain ----------------------------------------------


def _ckpt_variants(tmp_path: Path, demo: Demo) -> dict[str, Path]:
    (tmp_path / "garbage.ckpt").write_bytes(b"\x80\x04garbage")
    torch.save(torch.load(demo.best, weights_only=True)["state_dict"], tmp_path / "plain.ckpt")
    return {
        "@MISSING": tmp_path / "missing.ckpt",
        "@GARBAGE": tmp_path / "garbage.ckpt",
        "@PLAIN": tmp_path / "plain.ckpt",
        "@BEST": demo.best,
        "@FOLDER": demo.models,
        "@PSG": tmp_path / "night.edf",
    }


BAD_INPUTS = {
    # command: [(arguments after its base ones, text of the error line)]; @NAMES as in _ckpt_variants
    "train": [
        (["--seq-len", "0"], "error: --seq-len: must be an integer >= 1, got 0"),
        (["--lr", "0"], "error: --lr: must be a number > 0, got 0.0"),
        (["--model", "resnet"], "error: --model: must be one of chambon2018, tinysleepnet, got 'resnet'"),
        (["--fold", "x"], "error: --fold: must be a fold number (0, 1, ...) or 'all', got 'x'"),
        (["--fold", "9"], "error: --fold: fold 9 does not exist; the store has 3 folds (0..2)"),
        (["--params", "nowhere.yaml"], "error: --params nowhere.yaml: does not exist"),
        (["--store", "nowhere.zarr"], "error: --store nowhere.zarr: does not exist"),
        (["--out", "@PARAMS"], "is an existing file; give a folder path"),
    ],
    "predict": [
        (["@PSG", "--checkpoint", "@MISSING"], "error: checkpoint @MISSING: does not exist"),
        (["@PSG", "--checkpoint", "@GARBAGE"], "error: checkpoint @GARBAGE: not a readable checkpoint"),
        (["@PSG", "--checkpoint", "@PLAIN"], "error: checkpoint @PLAIN: not a PyTorch Lightning checkpoint"),
        (
            ["@PSG", "--checkpoint", "@FOLDER"],
            "error: checkpoint @FOLDER: is a folder, not a checkpoint file",
        ),
        (["@FOLDER", "--checkpoint", "@BEST"], "error: PSG @FOLDER: is a folder; give one EDF/EDF+ file"),
        (["nowhere.edf", "--checkpoint", "@BEST"], "error: PSG nowhere.edf: does not exist"),
        (
            ["@PSG", "--checkpoint", "@BEST", "--out", "@FOLDER"],
            "error: --out @FOLDER: is an existing folder",
        ),
        (
            ["@PSG", "--checkpoint", "@BEST", "--batch-size", "0"],
            "error: --batch-size: must be an integer >= 1",
        ),
        (
            ["@PSG", "--checkpoint", "@BEST", "--channel-map", "EEG C3=EEG Fpz-Cz"],
            "error: --channel-map 'EEG C3=EEG Fpz-Cz': the model in @BEST has no channel 'EEG C3'",
        ),
    ],
    "test": [
        (["--checkpoint", "@MISSING"], "error: --checkpoint @MISSING: does not exist"),
        (["--checkpoint", "@GARBAGE"], "error: checkpoint @GARBAGE: not a readable checkpoint"),
        (["--checkpoint", "@FOLDER", "--fold", "x"], "error: --fold: must be a fold number"),
        (["--checkpoint", "@FOLDER", "--fold", "2"], "error: --checkpoint @FOLDER: has no fold-2/best.ckpt"),
        (["--checkpoint", "@BEST", "--fold", "2"], "trained on fold 0; testing it on fold 2"),
        (
            ["--checkpoint", "@BEST", "--out", "@PSG"],
            "error: --out @PSG: is an existing file; give a folder path",
        ),
    ],
    "explain": [
        (["--method", "shap"], "error: --method: must be one of integrated-gradients, deeplift"),
        (["--baseline-band", "delt"], "error: --baseline-band: must be one of delta, theta"),
        (["--n-steps", "1"], "error: --n-steps: must be an integer >= 2, got 1"),
        (["--fold", "9"], "error: --fold: store @STORE has no fold 9 (3 folds)"),
        (["--recordings", "SC9999E0"], "error: --recordings: store @STORE has no recording(s) ['SC9999E0']"),
        (["--metrics", "@FOLDER"], "error: --metrics @FOLDER: is an existing folder; give a file path"),
        (["--checkpoint", "@GARBAGE"], "error: checkpoint @GARBAGE: not a readable checkpoint"),
    ],
}


@pytest.mark.parametrize(
    ("command", "args", "needle"), [(c, a, n) for c, cases in BAD_INPUTS.items() for a, n in cases]
)
def test_bad_inputs_are_one_line(
    demo: Demo, tmp_path: Path, command: str, args: list[str], needle: str
) -> None:
    shutil.copyfile(demo.psg, tmp_path / "night.edf")
    names = {k: str(v) for k, v in _ckpt_variants(tmp_path, demo).items()}
    names |= {"@STORE": str(demo.store), "@PARAMS": str(demo.params)}
    for k, v in names.items():
        needle = needle.replace(k, v)
    base = {
        "train": ["--store", demo.store, "--params", demo.params, "--out", tmp_path / "m", "--no-progress"],
        "predict": [],
        "test": ["--store", demo.store, "--out", tmp_path / "report", "--no-progress"],
        "explain": ["--store", demo.store, "--out", tmp_path / "ex", "--no-progress"],
    }[command]
    if command == "explain" and "--checkpoint" not in args:
        base += ["--checkpoint", demo.best]
    refused_and_unchanged(demo, tmp_path, [command, *base, *[names.get(a, a) for a in args]], needle)


API_CASES = [
    ("predict", {"edf_out": "@FOLDER"}, "--edf-out @FOLDER: is an existing folder; give a file path"),
    ("predict", {"out": "@TMP/a.csv", "edf_out": "@TMP/a.csv"}, "--edf-out @TMP/a.csv: is also the CSV"),
    ("predict", {"channel_map": ["Fpz"]}, "--channel-map 'Fpz': must look like 'MODEL CHANNEL=PSG CHANNEL'"),
    (
        "predict",
        {"channel_map": ["EEG Fpz-Cz=Fpz", "EEG Fpz-Cz=Cz"]},
        "--channel-map 'EEG Fpz-Cz=Cz': maps 'EEG Fpz-Cz' a second",
    ),
    ("predict", {"checkpoint": "@PLAIN"}, "checkpoint @PLAIN: not a PyTorch Lightning checkpoint"),
    ("test", {"checkpoint": "@PLAIN"}, "checkpoint @PLAIN: not a PyTorch Lightning checkpoint"),
    ("test", {"batch_size": 0}, "--batch-size: must be an integer >= 1, got 0"),
    ("test", {"store": "@TMP/nowhere.zarr"}, "--store @TMP/nowhere.zarr: does not exist"),
    ("test", {"out": "@STORE/report"}, "--out: @STORE/report: this output would overwrite the input @STORE"),
    ("explain", {"target": "best"}, "--target: must be one of predicted, true, got 'best'"),
    ("explain", {"baseline": "noise"}, "--baseline: must be one of zeros, mean, band-removed, got 'noise'"),
    ("explain", {"output": "odds"}, "--output: must be one of probability, logit, got 'odds'"),
    ("explain", {"max_epochs": 0}, "--epoch-limit: must be an integer >= 1, got 0"),
    ("explain", {"check_epochs": 0}, "--check-epochs: must be an integer >= 1, got 0"),
    ("explain", {"checkpoint": "@MISSING"}, "checkpoint @MISSING: does not exist"),
    ("explain", {"out": "@STORE"}, "--out: @STORE: this output would overwrite the input @STORE"),
]


@pytest.mark.parametrize(("function", "kwargs", "needle"), API_CASES)
def test_the_python_api_of_predict_test_explain_refuses_the_same(
    demo: Demo, tmp_path: Path, function: str, kwargs: dict[str, object], needle: str
) -> None:
    import re

    from physioex.explain.run import explain
    from physioex.inference.predict import parse_channel_map
    from physioex.inference.run import evaluate as run_test
    from physioex.inference.run import predict

    shutil.copyfile(demo.psg, tmp_path / "night.edf")
    names = {k: str(v) for k, v in _ckpt_variants(tmp_path, demo).items()}
    names |= {"@STORE": str(demo.store), "@TMP": str(tmp_path)}

    def sub(v: object) -> object:
        if isinstance(v, str) and v.startswith("@"):
            head, _, tail = v.partition("/")
            return str(Path(names[head]) / tail) if tail else names[head]
        return v

    for k in sorted(names, key=len, reverse=True):
        needle = needle.replace(k, names[k])
    args = {k: sub(v) for k, v in kwargs.items()}
    calls = {
        "predict": lambda a: predict(
            a.pop("psg", names["@PSG"]),
            a.pop("checkpoint", demo.best),
            **{"out": tmp_path / "h.csv", **a, "channel_map": parse_channel_map(a.get("channel_map"))},
        ),
        "test": lambda a: run_test(
            a.pop("checkpoint", demo.models),
            a.pop("store", demo.store),
            **{"out": tmp_path / "report", "progress": False, **a},
        ),
        "explain": lambda a: explain(
            a.pop("checkpoint", demo.best),
            a.pop("store", demo.store),
            **{"out": tmp_path / "ex", "progress": False, **a},
        ),
    }
    before = tree(demo.root, tmp_path)
    with pytest.raises(InputError, match="^" + re.escape(needle)):
        calls[function](args)
    assert tree(demo.root, tmp_path) == before


# -- presets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "yaml_text", "needle"),
    [
        (
            "train",
            "train:\n  sq-len: 3\n",
            "train.sq-len: not an option of `physioex train` (did you mean seq-len?)",
        ),
        (
            "train",
            "trian:\n  seq-len: 3\n",
            "section 'trian' names no physioex command (did you mean train?)",
        ),
        (
            "test",
            "test:\n  plot: false\n",
            "test.plot: not an option of `physioex test` (did you mean plots?)",
        ),
        ("predict", "predict:\n  channelmap: x\n", "predict.channelmap: not an option of `physioex predict`"),
        ("explain", "explain:\n  metod: saliency\n", "explain.metod: not an option of `physioex explain`"),
        ("train", "download:\n  mirr: /x\n", "download.mirr: not an option of `physioex download`"),
    ],
)
def test_unknown_preset_keys_are_one_line(
    demo: Demo, tmp_path: Path, command: str, yaml_text: str, needle: str
) -> None:
    preset = tmp_path / "preset.yaml"
    preset.write_text(yaml_text)
    tail = {
        "train": ["--store", demo.store, "--params", demo.params, "--out", tmp_path / "m"],
        "test": ["--checkpoint", demo.models, "--store", demo.store, "--out", tmp_path / "r"],
        "predict": [demo.psg, "--checkpoint", demo.best, "--out", tmp_path / "h.csv"],
        "explain": ["--checkpoint", demo.best, "--store", demo.store, "--out", tmp_path / "ex"],
    }[command]
    line = refused_and_unchanged(demo, tmp_path, ["--preset", preset, command, *tail], needle)
    assert line.startswith(f"error: {preset}: ")


def test_shipped_presets_pass_validation_and_bad_yaml_names_the_file(tmp_path: Path) -> None:
    import typer.main

    from physioex.cli import app
    from physioex.presets import load_preset, preset_commands

    commands = preset_commands(typer.main.get_command(app))
    for preset in sorted((REPO / "pipelines").glob("*.yaml")):
        load_preset(preset, commands)  # raises on any unknown section or key
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  seq-len: [1\n")
    with pytest.raises(InputError, match=rf"^{bad}: is not valid YAML at line 3, column 1: "):
        load_preset(bad)


# -- a checkpoint never scores a subject it trained or validated on --------------------------------


def test_refolded_store_never_scores_a_seen_subject(demo: Demo, tmp_path: Path) -> None:
    """Re-preprocessing with another fold seed moves a training subject into fold 0's test split: `test`
    and `explain` refuse (exit 2, naming the subject) instead of scoring what the model has seen."""
    from physioex.store import open_store
    from physioex.store.folds import make_folds

    st = open_store(demo.store)
    subjects, k = st.subjects, len(st.folds)
    seed = next(s for s in range(1, 50) if make_folds(subjects, k, s)[0].test != st.fold(0).test)
    refolded = tmp_path / "refolded.zarr"
    shutil.copytree(demo.store, refolded)
    raw = demo.root / "raw"
    proc = cli(
        "preprocess",
        "demo",
        "--raw",
        raw,
        "--out",
        refolded,
        "--fold-seed",
        seed,
        "--no-progress",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    moved = open_store(refolded).fold(0).test[0]
    assert moved != st.fold(0).test[0]  # the precondition: a subject the checkpoint saw is now tested
    for args in (
        ["test", "--checkpoint", demo.best, "--store", refolded, "--out", tmp_path / "eval"],
        ["explain", "--checkpoint", demo.best, "--store", refolded, "--out", tmp_path / "expl"],
    ):
        line = assert_one_error(cli(*args, cwd=tmp_path), 2, str(demo.best), f"subject {moved}")
        assert "trained" in line or "validated" in line
    assert not (tmp_path / "eval").exists() and not (tmp_path / "expl").exists()
    # the original store's folds still match the checkpoint: it scores its own test subject
    ok = cli("test", "--checkpoint", demo.best, "--store", demo.store, "--out", tmp_path / "ok", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


def test_explaining_a_training_night_is_refused(demo: Demo, tmp_path: Path) -> None:
    from physioex.store import open_store

    st = open_store(demo.store)
    night = st.recordings_of(st.fold(0).train)[0]
    refused_and_unchanged(
        demo,
        tmp_path,
        ["explain", "--checkpoint", demo.best, "--store", demo.store, "--recordings", night],
        f"recording {night}",
        "trained",
    )
