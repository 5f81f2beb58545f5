"""N copies of one backbone as one model: stacked weights, ``encode`` and ``fuse`` run by vmap.

``torch.func.stack_module_state`` puts the members' weights side by side (a leading member
dimension on every parameter and buffer) and ``torch.func.vmap`` runs the backbone's own ``encode``
and ``fuse`` over that dimension, so one kernel launch serves every member: on a GPU, small
backbones whose steps are bound by launch overhead train N seeds for little more than the time of
one. Each member sees its own batch; inputs and outputs carry the member dimension first.

Dropout draws with ``randomness="different"``: every member gets its own masks, but not the masks
a separate run of that seed would draw (those come from one global generator in another order).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from msmix.data.batch import Batch
from msmix.models.base import Backbone, Encoded, FuseOutput
from msmix.models.subnets import TextLSTM

_BATCH_TENSORS = ("text", "audio", "vision", "labels", "text_bert")
_BATCH_DICTS = ("lengths", "modality_labels")


class NotStackableError(ValueError):
    """The members cannot train as one stacked model; they can still train one by one."""


class _Method(nn.Module):
    """Calls a named method of the wrapped backbone, so ``functional_call`` can reach ``encode``
    and ``fuse`` (it only calls ``forward``)."""

    def __init__(self, model: Backbone) -> None:
        super().__init__()
        self.model = model

    def forward(self, method: str, *args: Any) -> Any:
        return getattr(self.model, method)(*args)


class StackedBackbone(nn.Module):
    """The members' weights stacked (``params`` and ``buffers``: name -> (N, ...)) and their
    ``encode`` / ``fuse`` run as one vmapped call.

    The members keep their own modules, untouched while training; ``write_back`` copies the stacked
    weights into them (to validate, probe or save a member with the usual code).
    """

    def __init__(self, members: Sequence[Backbone]) -> None:
        super().__init__()
        check_stackable(members)
        wrapped = [_Method(m) for m in members]
        params, buffers = stack_module_state(wrapped)
        self.params = nn.ParameterDict({_key(n): nn.Parameter(t, requires_grad=t.requires_grad) for n, t in params.items()})
        self._names = list(params)
        self._buffer_names = list(buffers)
        for name, tensor in buffers.items():
            self.register_buffer(_key(name), tensor)
        template = copy.deepcopy(wrapped[0])
        for module in template.modules():
            if isinstance(module, TextLSTM):
                module.unrolled = True
        object.__setattr__(self, "_template", template)  # not a submodule: its own weights are unused
        self.size = len(members)

    def stacked_parameters(self) -> dict[str, nn.Parameter]:
        """The stacked parameters under the members' own names (``model.<name>``)."""
        return {name: self.params[_key(name)] for name in self._names}

    def stacked_buffers(self) -> dict[str, Tensor]:
        return {name: getattr(self, _key(name)) for name in self._buffer_names}

    def train(self, mode: bool = True) -> "StackedBackbone":
        super().train(mode)
        self._template.train(mode)
        return self

    def encode(self, batches: Sequence[Batch]) -> Encoded:
        """The members' latents (N, B, ...) and masks (N, B, T) for their own batches."""
        if len(batches) != self.size:
            raise ValueError(f"{self.size} stacked members need {self.size} batches, got {len(batches)}")
        padding = batches[0].padding
        fields = _stack_fields(batches)
        absent: list[str] = []

        def one(params: dict[str, Tensor], buffers: dict[str, Tensor], fields: dict[str, Any]) -> tuple[dict, dict]:
            enc = self._call(params, buffers, "encode", Batch(**fields, padding=padding))
            absent[:] = [m for m, mask in enc.masks.items() if mask is None]
            return enc.latents, {m: mask for m, mask in enc.masks.items() if mask is not None}

        latents, masks = vmap(one, randomness="different")(*self._weights(), fields)
        return Encoded(latents, {**masks, **dict.fromkeys(absent)})

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None]) -> FuseOutput:
        """Predictions (N, B', 1) and auxiliary losses (N,) of every member's latents."""
        present = {m: mask for m, mask in masks.items() if mask is not None}
        absent = [m for m, mask in masks.items() if mask is None]

        def one(params: dict[str, Tensor], buffers: dict[str, Tensor], latents: dict, present: dict) -> tuple[Tensor, dict]:
            out = self._call(params, buffers, "fuse", latents, {**present, **dict.fromkeys(absent)})
            return out.pred, out.aux_losses

        pred, aux = vmap(one, randomness="different")(*self._weights(), latents, present)
        return FuseOutput(pred, aux)

    @torch.no_grad()
    def write_back(self, member: int, model: Backbone) -> None:
        """Copy member ``member``'s stacked weights into ``model`` (one of the members)."""
        own = dict(_Method(model).named_parameters())
        own.update(dict(_Method(model).named_buffers()))
        for name, tensor in {**self.stacked_parameters(), **self.stacked_buffers()}.items():
            own[name].copy_(tensor[member])

    def _weights(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        return self.stacked_parameters(), self.stacked_buffers()

    def _call(self, params: dict[str, Tensor], buffers: dict[str, Tensor], method: str, *args: Any) -> Any:
        return functional_call(self._template, (params, buffers), (method, *args), strict=True)


def check_stackable(members: Sequence[Backbone]) -> None:
    """Refuse members that are not copies of one stackable backbone with one configuration."""
    if not members:
        raise NotStackableError("stacking needs at least one member")
    first = members[0]
    check_backbone_stacks(type(first))
    shapes = {n: t.shape for n, t in first.state_dict().items()}
    for other in members[1:]:
        if type(other) is not type(first) or getattr(other, "config", None) != getattr(first, "config", None):
            raise NotStackableError("stacked members must be one backbone with one configuration")
        if {n: t.shape for n, t in other.state_dict().items()} != shapes:
            raise NotStackableError("stacked members must have weights of the same names and shapes")


def check_backbone_stacks(backbone: type[Backbone]) -> None:
    """Refuse a backbone vmap cannot run (``Backbone.stackable``)."""
    if not backbone.stackable:
        raise NotStackableError(f"backbone {backbone.name!r} cannot train stacked; its seeds train one by one")


def _key(name: str) -> str:
    """A parameter name as a module attribute (dots are not allowed there)."""
    return name.replace(".", "__")


def _stack_fields(batches: Sequence[Batch]) -> dict[str, Any]:
    """The model-facing tensors of N batches of one size, stacked on a new first dimension."""
    sizes = {len(b) for b in batches}
    if len(sizes) != 1:
        raise ValueError(f"stacked members need batches of one size, got sizes {sorted(sizes)}")
    fields: dict[str, Any] = {}
    for name in _BATCH_TENSORS:
        values = [getattr(b, name) for b in batches]
        if values[0] is not None:
            fields[name] = torch.stack(values)
    for name in _BATCH_DICTS:
        fields[name] = {key: torch.stack([getattr(b, name)[key] for b in batches]) for key in getattr(batches[0], name)}
    return fields
