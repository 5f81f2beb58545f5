"""A pretrained text encoder run inside a backbone (MISA and ALMT fine-tune BERT this way).

Every backbone reads the data set's precomputed text features by default. MISA and ALMT can
instead run a transformers encoder on MMSA's ``text_bert`` token ids and train it with the rest
(their published setting). The encoder is read from a local folder or the local Hugging Face
cache only: nothing is downloaded at run time. Tests use a tiny randomly initialised BERT
(``msmix.testing.write_tiny_bert``); ``bert-base-uncased`` (``bert-base-chinese`` for CH-SIMS)
is what the papers fine-tune.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from msmix.data.batch import Batch


class TextEncoderError(ValueError):
    """The configured text encoder cannot be loaded or run (named, with what was expected)."""


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers without its progress bars (loading or saving weights), so a command's output
    and its one-line errors stay as they are; the bars' setting is restored afterwards."""
    from transformers.utils import logging

    shown = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            logging.enable_progress_bar()


def load_pretrained(source: str) -> nn.Module:
    """The transformers model at ``source`` (a folder, or a name already in the local cache); under a
    ``meta`` device context its architecture alone, from its config.json (no weights are read or allocated)."""
    try:
        from transformers import AutoModel
    except ImportError as error:  # pragma: no cover - depends on the install
        raise TextEncoderError(
            f"text encoder {source!r}: fine-tuning a text encoder needs the transformers package "
            "(pip install 'msmix[bert]')"
        ) from error
    try:
        with quiet_transformers():
            if torch.empty(0).is_meta:  # built on the meta device to learn its shapes: the architecture, no weights
                from transformers import AutoConfig

                return AutoModel.from_config(AutoConfig.from_pretrained(source, local_files_only=True))
            return AutoModel.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as error:
        raise TextEncoderError(
            f"text encoder {source!r}: no transformers model found there or in the local cache "
            "(nothing is downloaded; give a folder with config.json and the weights)"
        ) from error


def token_inputs(batch: Batch, owner: str) -> Tensor:
    """The batch's (B, 3, T) ``text_bert`` tokens, or a clear error when the data set has none."""
    if batch.text_bert is None:
        raise TextEncoderError(
            f"{owner} runs a text encoder and needs the data set's 'text_bert' token ids, which this "
            "batch lacks (a file without them, or inputs mixed before encoding: token ids cannot be "
            "mixed, use a latent mixer)"
        )
    return batch.text_bert


def token_mask(tokens: Tensor) -> Tensor:
    """(B, T) boolean mask of the real tokens of (B, 3, T) ``text_bert`` tokens (its attention-mask row)."""
    return tokens[:, 1] > 0


class PretrainedTextEncoder(nn.Module):
    """A transformers encoder on (B, 3, T) ``text_bert`` tokens -> (B, T, hidden) last hidden states.

    ``finetune=False`` freezes its weights (MMSA's ``use_finetune`` off). The pooler (BERT's
    [CLS] head) is dropped: no backbone reads its output, so its weights would never learn.
    """

    def __init__(self, source: str, finetune: bool = True) -> None:
        super().__init__()
        self.source = source
        self.model = load_pretrained(source)
        if getattr(self.model, "pooler", None) is not None:
            self.model.pooler = None
        self.finetune = finetune
        if not finetune:
            self.model.requires_grad_(False)

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def forward(self, tokens: Tensor) -> Tensor:
        return self._run(tokens, all_layers=False).last_hidden_state

    def hidden_states(self, tokens: Tensor) -> tuple[Tensor, ...]:
        """Every layer's (B, T, hidden) states, the embeddings first and the last layer last."""
        return self._run(tokens, all_layers=True).hidden_states

    def _run(self, tokens: Tensor, all_layers: bool):
        ids, mask, segments = tokens[:, 0].long(), tokens[:, 1].long(), tokens[:, 2].long()
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.finetune):
            return self.model(input_ids=ids, attention_mask=mask, token_type_ids=segments, output_hidden_states=all_layers)

    def extra_repr(self) -> str:
        return f"source={self.source!r}, finetune={self.finetune}"
