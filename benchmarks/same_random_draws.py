"""Make a CPU run and a CUDA run draw the same random numbers, so their results can be compared.

CPU and CUDA generators seeded alike produce different streams (MT19937 against Philox), so two
runs of one seed shuffle, mix and drop out differently and their losses cannot be compared. Inside
``SameRandomDraws`` every random operator (each ATen op with a ``generator`` argument, and CUDA's
fused dropout) draws on the CPU from a CPU twin of its generator, seeded with that generator's
seed, and the numbers are then moved to the device the op was asked for. Two runs that make the
same draws in the same order, on any devices, thus see the same numbers. Only speed changes, and
only inside the block: it is a measuring aid, not a training mode.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map

DEFAULT = "default"


def _draws_random_numbers(func: Any) -> bool:
    return any(argument.name == "generator" for argument in func._schema.arguments)


def _device_of(args: tuple[Any, ...], kwargs: dict[str, Any], generator: torch.Generator | None) -> torch.device:
    """Where the op's result belongs: its ``device`` argument, its first tensor's, or its generator's."""
    if kwargs.get("device") is not None:
        return torch.device(kwargs["device"])
    for value in args:
        if isinstance(value, torch.Tensor):
            return value.device
    return generator.device if generator is not None else torch.device("cpu")


def _to(device: torch.device) -> Any:
    return lambda value: value.to(device) if isinstance(value, torch.Tensor) else value


class SameRandomDraws(TorchDispatchMode):
    """Every random draw inside the block comes from a CPU twin of its generator (see module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.twins: dict[str | int, torch.Generator] = {}

    def twin(self, generator: torch.Generator | None) -> torch.Generator:
        """The CPU generator standing in for ``generator`` (None: the default one), made at first use.

        Generators are told apart by their seeds (a run seeds each of its streams differently): the
        Python objects an op receives are fresh wrappers on every call."""
        key = DEFAULT if generator is None else generator.initial_seed()
        if key not in self.twins:
            seed = torch.initial_seed() if generator is None else generator.initial_seed()
            self.twins[key] = torch.Generator().manual_seed(seed)
        return self.twins[key]

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = dict(kwargs or {})
        if func is torch.ops.aten.native_dropout.default:
            return self._dropout(*args, **kwargs)
        if not _draws_random_numbers(func):
            return func(*args, **kwargs)
        generator = kwargs.get("generator")
        device = _device_of(args, kwargs, generator)
        cpu_args = tree_map(_to(torch.device("cpu")), args)
        cpu_kwargs = {**tree_map(_to(torch.device("cpu")), kwargs), "generator": self.twin(generator)}
        if "device" in kwargs:
            cpu_kwargs["device"] = torch.device("cpu")
        result = func(*cpu_args, **cpu_kwargs)
        if func._schema.name.endswith("_"):  # in place: the drawn values go into the op's own tensor
            return args[0].copy_(result)
        return tree_map(_to(device), result)

    def _dropout(self, input: torch.Tensor, p: float, train: bool | None) -> tuple[torch.Tensor, torch.Tensor]:
        """CUDA's fused dropout as the CPU computes dropout: a Bernoulli(1 - p) mask, scaled by 1 / (1 - p)."""
        if not train or p == 0:
            return input.clone(), torch.ones_like(input, dtype=torch.bool)
        keep = torch.empty(input.shape, dtype=input.dtype).bernoulli_(1 - p, generator=self.twin(None))
        scaled = keep.div_(1 - p).to(input.device)
        return input * scaled, scaled != 0
