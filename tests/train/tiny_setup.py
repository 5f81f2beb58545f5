"""A tiny backbone, tiny hand-built splits and trainer builders, so trainer tests take milliseconds
per epoch.

``TinyBackbone`` is registered as ``_tiny`` only while these tests run (see conftest.py). Its audio
latent is a masked sequence (B x T x d), the others are vectors, so mixers meet both forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

import msmix.mixing
from msmix.data import Batch, Dataset, DataSpec, Split
from msmix.models import Backbone, Encoded, FuseOutput
from msmix.train import TrainConfig, Trainer
from msmix.train.history import TIMING_COLUMNS

DIMS = {"text": 6, "audio": 3, "vision": 4}
SEQ_LENS = {"text": 5, "audio": 7, "vision": 1}
SIZES = {"train": 64, "valid": 32, "test": 32}
TINY_RECIPE = {"max_epochs": 3, "patience": 2, "batch_size": 16, "eval_batch_size": 64, "lr": 1e-2}


class TinyBackbone(Backbone):
    """Mean-pools text, keeps audio as a masked sequence, projects everything to ``hidden``."""

    def __init__(self, spec: DataSpec, hidden: int = 8, dropout: float = 0.0) -> None:
        super().__init__()
        self.spec = spec
        self.latent_dims = {m: hidden for m in DIMS}
        self.proj = nn.ModuleDict({m: nn.Linear(spec.dims[m], hidden) for m in DIMS})
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(3 * hidden, 1)

    def encode(self, batch: Batch) -> Encoded:
        text = self.proj["text"](batch.text.mean(dim=1))
        audio = torch.tanh(self.proj["audio"](batch.audio))
        vision = self.proj["vision"](batch.vision[:, 0])
        return Encoded({"text": text, "audio": audio, "vision": vision}, {"audio": batch.mask("audio")})

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        mask = (masks or {}).get("audio")
        audio = latents["audio"]
        if mask is None:
            pooled = audio.mean(dim=1)
        else:
            weights = mask.unsqueeze(-1).to(audio.dtype)
            pooled = (audio * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1)
        h = torch.cat([latents["text"], pooled, latents["vision"]], dim=1)
        return FuseOutput(pred=self.head(self.dropout(h)))

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return {"model": {"hidden": 8, "dropout": 0.0}, "train": dict(TINY_RECIPE)}


def make_split(name: str, n: int, generator: torch.Generator, weights: dict[str, Tensor]) -> Split:
    """Features with a linear signal in every modality; labels in [-3, 3]."""
    feats = {m: torch.randn(n, SEQ_LENS[m], DIMS[m], generator=generator) for m in DIMS}
    audio_lengths = torch.randint(2, SEQ_LENS["audio"] + 1, (n,), generator=generator)
    valid = torch.arange(SEQ_LENS["audio"]).unsqueeze(0) < audio_lengths.unsqueeze(1)
    feats["audio"] = feats["audio"] * valid.unsqueeze(-1)
    signal = sum(feats[m].mean(dim=1) @ weights[m] for m in DIMS)
    labels = (signal + 0.1 * torch.randn(n, generator=generator)).clamp(-3, 3)
    return Split(
        name=name,
        **feats,
        labels=labels,
        ids=[f"{name}{i}$_$0" for i in range(n)],
        raw_text=[f"sample {i}" for i in range(n)],
        lengths={"audio": audio_lengths},
    )


def make_dataset(seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    weights = {m: torch.randn(DIMS[m], generator=g) for m in DIMS}
    splits = {name: make_split(name, n, g, weights) for name, n in SIZES.items()}
    spec = DataSpec(kind="mosi", dims=dict(DIMS), seq_lens=dict(SEQ_LENS), label_range=3.0, name="tiny (synthetic)", synthetic=True)
    return Dataset(**splits, spec=spec, source="tiny")




def make_trainer(
    data: Dataset,
    mixer: str = "msmix",
    run_dir: str | Path | None = None,
    dropout: float = 0.1,
    mixer_config: dict[str, Any] | None = None,
    trainer_class: type[Trainer] = Trainer,
    **settings: Any,
) -> Trainer:
    """A Trainer of a freshly initialised ``_tiny`` model (the same weights on every call)."""
    torch.manual_seed(0)
    model = TinyBackbone(data.spec, dropout=dropout)
    mix = msmix.mixing.create(mixer, dims=model.latent_dims, label_range=data.spec.label_range, **(mixer_config or {}))
    config = TrainConfig.from_dict({**TINY_RECIPE, "device": "cpu", **settings})
    meta = {"backbone": "_tiny", "model_config": {"hidden": 8, "dropout": dropout}}
    return trainer_class(model, mix, data, config, run_dir=run_dir, progress=False, meta=meta)


def without_timing(history: pd.DataFrame) -> pd.DataFrame:
    """The history without wall-clock columns (they differ between identical runs)."""
    return history.drop(columns=list(TIMING_COLUMNS))


def weights_of(module: torch.nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
