"""msmix: MS-Mix and its rival mixup augmentations for multimodal sentiment analysis.

Every backbone splits into ``encode`` and ``fuse``; every augmentation is a ``Mixer`` that works
on the latents between them. See ``msmix.data``, ``msmix.mixing``, ``msmix.models`` and
``msmix.train``.
"""

__version__ = "0.1.0"

MODALITIES: tuple[str, str, str] = ("text", "audio", "vision")


def __getattr__(name: str):
    """Lazy top-level shortcuts, so ``import msmix`` stays light: ``msmix.load_checkpoint``."""
    if name == "load_checkpoint":
        from msmix.train.checkpoint import load_checkpoint

        return load_checkpoint
    raise AttributeError(f"module 'msmix' has no attribute {name!r}")
