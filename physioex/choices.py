"""Every named choice of physioex, declared once (torch-free, so the CLI can list them in ``--help``).

The library keeps accepting plain strings: each member *is* its string (``Model.CHAMBON2018 ==
"chambon2018"``), and the library's lists of valid names are ``names(<Enum>)``.
"""

from __future__ import annotations

from enum import Enum


class Choice(str, Enum):
    """A string-valued choice whose ``str()`` is its value (as on the command line and in files)."""

    def __str__(self) -> str:
        return str(self.value)


class Model(Choice):
    """Sequence-to-sequence sleep-staging models (``physioex.models``)."""

    CHAMBON2018 = "chambon2018"
    TINYSLEEPNET = "tinysleepnet"


class Method(Choice):
    """Captum attribution methods (``physioex.explain.methods``)."""

    INTEGRATED_GRADIENTS = "integrated-gradients"
    DEEPLIFT = "deeplift"
    GRADIENT_SHAP = "gradient-shap"
    SALIENCY = "saliency"
    OCCLUSION = "occlusion"


class Baseline(Choice):
    """Reference signals an attribution is measured against."""

    ZEROS = "zeros"
    MEAN = "mean"
    BAND_REMOVED = "band-removed"


class Target(Choice):
    """Stage explained for each epoch: the model's prediction or the scorer's label."""

    PREDICTED = "predicted"
    TRUE = "true"


class Output(Choice):
    """Score explained: the stage's probability or its logit."""

    PROBABILITY = "probability"
    LOGIT = "logit"


class Band(Choice):
    """EEG frequency bands, in order of frequency (their limits in Hz: ``physioex.explain.bands``)."""

    DELTA = "delta"
    THETA = "theta"
    ALPHA = "alpha"
    SIGMA = "sigma"
    BETA = "beta"
    GAMMA = "gamma"


class Normalisation(Choice):
    """Signal standardisation: train-subject statistics per channel, per night, or none."""

    GLOBAL = "global"
    RECORDING = "recording"
    NONE = "none"


class Crop(Choice):
    """Epochs kept per night (``physioex.preprocess.crop``)."""

    AUTO = "auto"
    SLEEP = "sleep"
    NON_WAKE = "non-wake"
    LIGHTS = "lights"
    NONE = "none"


class Compression(Choice):
    """Chunk compression of the epoch store (``physioex.store.layout``)."""

    BLOSC_ZSTD = "blosc-zstd"
    BLOSC_LZ4 = "blosc-lz4"
    ZSTD = "zstd"
    NONE = "none"


def names(kind: type[Choice]) -> tuple[str, ...]:
    """The values of ``kind`` in declaration order, as plain strings: the library's list of valid names."""
    return tuple(member.value for member in kind)


def value_of(choice: str | None) -> str | None:
    """``choice`` as a plain string (an Enum member's value); None stays None."""
    return None if choice is None else str(choice.value if isinstance(choice, Enum) else choice)
