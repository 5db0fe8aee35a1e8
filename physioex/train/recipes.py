"""Named training recipes: sets of ``TrainConfig`` values that belong together, each with its source.

A recipe is selected with ``physioex train --recipe NAME`` or ``train: {recipe: NAME}`` in a params
file. Precedence (``physioex.train.config.make_config``): ``TrainConfig`` defaults < recipe < params
file ``train:`` keys < command-line options. docs/recipes.md tables every value with its source and
lists what the framework still does differently from the reference code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

TINYSLEEPNET: Mapping[str, Any] = MappingProxyType(
    {
        # Supratak & Guo, EMBC 2020; reference code akaraspt/tinysleepnet (config/sleepedf.py and
        # config/sleepedfx.py hold the same training values; model.py, nn.py, train.py, minibatching.py).
        # The architecture, batch norm included (momentum 0.01 = TF's 0.99, eps 1e-3 as nn.batch_norm),
        # is the tinysleepnet model's defaults.
        "model": "tinysleepnet",
        "seq_len": 20,  # config: seq_length 20
        "batch_size": 15,  # config: batch_size 15 (sequences trained in parallel)
        "lr": 1e-4,  # config: learning_rate 1e-4 (Adam betas 0.9/0.999, eps 1e-8 = PyTorch's defaults)
        "weight_decay": 0.0,  # no decay on other weights (model.py regularization_loss: conv kernels only)
        "l2_conv": 1e-3,  # config: l2_weight_decay 1e-3 x tf.nn.l2_loss of the four conv kernels
        "grad_clip": 5.0,  # config: clip_grad_value 5.0, tf.clip_by_global_norm (nn.adam_optimizer_clip)
        "class_weights": [1.0, 1.5, 1.0, 1.0, 1.0],  # train.py: weighted_cross_ent -> [1, 1.5, 1, 1, 1]
        "normalisation": "none",  # prepare_sleepedf.py/data.py: raw physical values (uV), no scaling
        "augment": True,  # config: augment_seq and augment_signal_full True
        "max_shift_fraction": 0.1,  # train.py augment_signal_full: shift by uniform(-0.1, 0.1) x an epoch
        "max_skip": 4,  # minibatching.py: max_skips = 5, np.random.randint(5) skips 0..4 epochs
        "max_epochs": 200,  # config: n_epochs 200
        "patience": 50,  # config: no_improve_epochs 50
    }
)
"""The paper's recipe (TinySleepNet on Sleep-EDF-20 and -78: the same values for both)."""

DEMO: Mapping[str, Any] = MappingProxyType(
    {
        # The offline demo's quick CPU budget (a smoke run of the whole pipeline, not a result).
        "model": "chambon2018",  # the smaller model: a pass takes seconds on 2 cores
        "seq_len": 21,  # L = 21 epochs (10 either side of the middle one)
        "batch_size": 32,
        "lr": 0.003,  # larger than the papers' 1e-4 so that 3 passes learn something
        "max_epochs": 3,
        "patience": 2,
        "normalisation": "global",  # train-subject mean/std per channel
        "augment": True,  # signal shift + random sequence start
    }
)
"""The demo pipeline's recipe (params.yaml ``train: {recipe: demo}``)."""

RECIPES: Mapping[str, Mapping[str, Any]] = MappingProxyType({"tinysleepnet": TINYSLEEPNET, "demo": DEMO})
"""Recipe name -> ``TrainConfig`` field values (validated like params-file values when applied)."""


def recipe_names() -> list[str]:
    """The recipe names, as error messages and ``--recipe``'s help list them."""
    return list(RECIPES)
