"""``write_tiny_bert``: a randomly initialised BERT small enough for tests, saved as a local folder.

Backbones that fine-tune a text encoder take a folder or cached name; tests give them this one, so
nothing is downloaded. Its vocabulary has ``TINY_BERT_VOCAB`` ids.
"""

from __future__ import annotations

from pathlib import Path

TINY_BERT_VOCAB = 100


def write_tiny_bert(folder: str | Path, hidden: int = 32, layers: int = 2, heads: int = 2, seed: int = 0) -> str:
    """Save a random ``BertModel`` (config and weights) into ``folder``; return the folder as a string."""
    import torch
    from transformers import BertConfig, BertModel

    from msmix.models.text_encoder import quiet_transformers

    config = BertConfig(
        vocab_size=TINY_BERT_VOCAB,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = BertModel(config)
    folder = Path(folder)
    with quiet_transformers():
        model.save_pretrained(folder)
    return str(folder)
