"""Text features: MiniLM states at every padded position, checked against transformers run directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from msmix.features.text import TextEncoder
from msmix.models.text_encoder import TextEncoderError
from msmix.testing import write_tiny_bert
from tests.features.conftest import SENTENCES


def test_states_and_tokens_equal_a_direct_transformers_run(minilm: str) -> None:
    from transformers import AutoModel, AutoTokenizer

    texts = [t for _, t, _, _ in SENTENCES]
    encoder = TextEncoder.load(minilm)
    tokens = encoder.tokens(texts, length=16)
    states = encoder.states(tokens)

    tokenizer = AutoTokenizer.from_pretrained(minilm, local_files_only=True)
    model = AutoModel.from_pretrained(minilm, local_files_only=True).eval().double()
    reference = tokenizer(texts, padding="max_length", max_length=16, truncation=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**reference).last_hidden_state.numpy()
    assert tokens.shape == (len(texts), 3, 16) and tokens.dtype == np.int64
    np.testing.assert_array_equal(tokens[:, 0], reference["input_ids"].numpy())
    np.testing.assert_array_equal(tokens[:, 1], reference["attention_mask"].numpy())
    np.testing.assert_array_equal(tokens[:, 2], reference["token_type_ids"].numpy())
    assert states.shape == (len(texts), 16, encoder.dim) and encoder.dim == 384 and states.dtype == np.float32
    np.testing.assert_allclose(states, expected, atol=2e-4)


def test_padded_positions_hold_states_not_zeros(minilm: str) -> None:
    """Zeroed padding would wash out TFN's and LMF's text LSTM (it reads all steps): never written."""
    encoder = TextEncoder.load(minilm)
    tokens = encoder.tokens(["boring", "it was okay"], length=12)
    states = encoder.states(tokens)
    padded = tokens[:, 1] == 0
    assert padded.sum() >= 15
    assert (np.abs(states[padded]).sum(axis=-1) > 1.0).all()


def test_long_transcripts_are_cut_to_the_length(minilm: str) -> None:
    encoder = TextEncoder.load(minilm)
    tokens = encoder.tokens(["word " * 200], length=10)
    assert tokens.shape == (1, 3, 10) and tokens[0, 1].all()


def test_a_folder_without_tokenizer_is_named(tmp_path: Path) -> None:
    folder = write_tiny_bert(tmp_path / "bert")
    with pytest.raises(TextEncoderError, match="no tokenizer found") as caught:
        TextEncoder.load(folder)
    assert folder in str(caught.value)


def test_a_missing_encoder_is_named(tmp_path: Path) -> None:
    with pytest.raises(TextEncoderError, match="nothing is downloaded"):
        TextEncoder.load(str(tmp_path / "absent"))
