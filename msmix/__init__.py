"""msmix: MS-Mix and its rival mixup augmentations for multimodal sentiment analysis.

Every backbone splits into ``encode`` and ``fuse``; every augmentation is a ``Mixer`` that works
on the latents between them. See ``msmix.data``, ``msmix.mixing``, ``msmix.models`` and
``msmix.train``.
"""

__version__ = "0.1.0"

MODALITIES: tuple[str, str, str] = ("text", "audio", "vision")
