"""MMSA 2.2.1's MISA for parity tests: the model built from its own config, its weights renamed to
msmix's, and the auxiliary losses computed by MMSA's own trainer methods."""

from __future__ import annotations

import importlib
import re
import sys
import types
from pathlib import Path

import torch
from torch import Tensor, nn

from mmsa_reference import Args, mmsa_config, mmsa_module, wheel_path
from msmix.testing import write_tiny_bert
from msmix.testing.tiny_bert import TINY_BERT_VOCAB

UNUSED = ("tlayer_norm.", "sp_discriminator.", "bertmodel.model.pooler.")
"""MMSA parameters that nothing trains, which msmix's MISA leaves out."""

RENAMES = [
    (r"^bertmodel\.model\.", "text_encoder.model."),
    (r"^([va])rnn1\.", lambda m: f"{_MODALITY[m[1]]}_rnn.first."),
    (r"^([va])rnn2\.", lambda m: f"{_MODALITY[m[1]]}_rnn.second."),
    (r"^([va])layer_norm\.", lambda m: f"{_MODALITY[m[1]]}_rnn.norm."),
    (r"^project_([tva])\.project_[tva]\.", lambda m: f"project.{_MODALITY[m[1]]}.0."),
    (r"^project_([tva])\.project_[tva]_layer_norm\.", lambda m: f"project.{_MODALITY[m[1]]}.2."),
    (r"^private_([tva])\.private_[tva]_\d\.", lambda m: f"private.{_MODALITY[m[1]]}."),
    (r"^shared\.shared_1\.", "shared."),
    (r"^recon_([tva])\.recon_[tva]_1\.", lambda m: f"recon.{_MODALITY[m[1]]}."),
    (r"^transformer_encoder\.layers\.0\.self_attn\.in_proj_(weight|bias)$", lambda m: f"fusion_layer.in_proj.{m[1]}"),
    (r"^transformer_encoder\.layers\.0\.self_attn\.", "fusion_layer."),
    (r"^transformer_encoder\.layers\.0\.", "fusion_layer."),
    (r"^fusion\.fusion_layer_1\.", "head.0."),
    (r"^fusion\.fusion_layer_3\.", "head.3."),
]
_MODALITY = {"t": "text", "v": "vision", "a": "audio"}


def write_bert_folder(folder: Path, hidden: int = 32, layers: int = 2, heads: int = 2) -> str:
    """A tiny random BERT folder with a vocabulary file (MMSA also loads the tokenizer)."""
    source = write_tiny_bert(folder, hidden=hidden, layers=layers, heads=heads)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = special + [f"w{i}" for i in range(TINY_BERT_VOCAB - len(special))]
    (Path(folder) / "vocab.txt").write_text("\n".join(words) + "\n")
    return source


def mmsa_args(kind: str, dims: dict[str, int], bert: str) -> Args:
    """What MMSA's run hands MISA for data set ``kind`` with feature sizes ``dims``."""
    return mmsa_config(
        "misa", kind, feature_dims=[dims["text"], dims["audio"], dims["vision"]],
        pretrained=bert, train_mode="regression", device=torch.device("cpu"),
    )


def mmsa_misa(kind: str, dims: dict[str, int], bert: str) -> nn.Module:
    """MMSA's MISA class, built with its published config."""
    return mmsa_module("models.singleTask.MISA").MISA(mmsa_args(kind, dims, bert))


def non_bert_count(model: nn.Module) -> int:
    """Parameters of MMSA's MISA outside its BERT."""
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith("bertmodel."))


def unused_count(model: nn.Module) -> int:
    """Parameters of MMSA's MISA outside its BERT that no loss reaches."""
    return sum(p.numel() for n, p in model.named_parameters() if n.startswith(UNUSED[:2]))


def renamed_state(model: nn.Module, with_bert: bool = True) -> dict[str, Tensor]:
    """MMSA's state dict under msmix's parameter names (the untrained parts dropped)."""
    renamed = {}
    for key, value in model.state_dict().items():
        if key.startswith(UNUSED) or (not with_bert and key.startswith("bertmodel.")):
            continue
        for pattern, target in RENAMES:
            new, hits = re.subn(pattern, target, key)
            if hits:
                renamed[new] = value
                break
        else:
            raise KeyError(f"no msmix name for MMSA's {key}")
    return renamed


def _trainer_module() -> types.ModuleType:
    """MMSA's MISA trainer module from the wheel; its metrics helpers are stubbed out."""
    package = mmsa_module("models.singleTask.MISA").__name__.split(".")[0]
    if f"{package}.utils" not in sys.modules:
        utils = types.ModuleType(f"{package}.utils")
        utils.MetricsTop = lambda mode: types.SimpleNamespace(getMetics=lambda name: None)
        utils.dict_to_str = str
        sys.modules[f"{package}.utils"] = utils
    inside = f"{wheel_path()}/MMSA"
    for name, path in (("trains", f"{inside}/trains"), ("trains.singleTask", f"{inside}/trains/singleTask")):
        if f"{package}.{name}" not in sys.modules:
            module = types.ModuleType(f"{package}.{name}")
            module.__path__ = [path]
            sys.modules[f"{package}.{name}"] = module
    return importlib.import_module(f"{package}.trains.singleTask.MISA")


def mmsa_weighted_losses(model: nn.Module, args: Args) -> dict[str, Tensor]:
    """The auxiliary losses of MMSA's last forward, by its trainer's methods, times its weights."""
    trainer = _trainer_module().MISA(args)
    trainer.model = types.SimpleNamespace(Model=model)
    assert args.use_cmd_sim
    return {
        "diff": args.diff_weight * trainer.get_diff_loss(),
        "sim": args.sim_weight * trainer.get_cmd_loss(),
        "recon": args.recon_weight * trainer.get_recon_loss(),
    }
