"""The pre-fusion half shared by TFN and LMF: a text LSTM and two MLPs on time-averaged features.

These follow MMSA 2.2.1's ``TextSubNet`` and ``SubNet`` layer for layer (same layers, same
dropout, same parameter count), so mixing at their outputs is mixing where the published models
hand over to fusion.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.models.text_encoder import token_mask


def time_average(x: Tensor, mask: Tensor | None) -> Tensor:
    """(B, T, D) -> (B, D): the mean over valid frames, or over all frames without a mask.

    ``T = 1`` (features averaged by the data layer, as MMSA's ``need_normalized``) passes through.
    A sample with no valid frame averages to 0. MMSA's loader averages over the padding frames as
    well; with lengths this averages the valid frames only.
    """
    if x.dim() != 3:
        raise ValueError(f"expected (batch, time, features) features, found shape {tuple(x.shape)}")
    if x.shape[1] == 1:
        return x[:, 0]
    if mask is None:
        return x.mean(dim=1)
    weights = mask.to(x.dtype)
    sums = torch.bmm(weights.unsqueeze(1), x).squeeze(1)
    return sums / weights.sum(dim=1, keepdim=True).clamp_min(1.0)


def valid_frames_first(x: Tensor, lengths: Tensor) -> Tensor:
    """Rotate each left-padded sequence of (B, T, D) so that its valid frames come first."""
    steps = x.shape[1]
    source = (torch.arange(steps, device=x.device).unsqueeze(0) + (steps - lengths).unsqueeze(1)) % steps
    return x.gather(1, source.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class FeatureMLP(nn.Module):
    """BatchNorm, dropout, then three Linear + ReLU layers: MMSA's audio / vision ``SubNet``.

    A training batch of one can't be normalised by its own statistics (MMSA would stop with an
    error); it is normalised with the running statistics instead, which it leaves unchanged.
    """

    def __init__(self, in_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(in_dim)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_dim) -> (B, hidden)."""
        if self.training and x.shape[0] == 1:
            n = self.norm
            normed = F.batch_norm(x, n.running_mean, n.running_var, n.weight, n.bias, False, 0.0, n.eps)
        else:
            normed = self.norm(x)
        return self.layers(self.drop(normed))


def lstm_states(x: Tensor, rnn: nn.LSTM) -> Tensor:
    """Hidden states (B, T, H) of a one-layer, one-way ``nn.LSTM`` run from zero state, step by step.

    The same equations as ``nn.LSTM`` (gates i, f, g, o), written out: on a CPU this is about 1.3x
    faster forward + backward than the fused oneDNN kernel, which also computes a gradient for the
    input features that nothing needs.
    """
    batch, steps, _ = x.shape
    hidden = rnn.hidden_size
    inputs = F.linear(x, rnn.weight_ih_l0, rnn.bias_ih_l0 + rnn.bias_hh_l0).unbind(1)
    recurrent = rnn.weight_hh_l0.t()
    h = x.new_zeros(batch, hidden)
    c = h
    states = []
    for step in range(steps):
        gates = torch.addmm(inputs[step], h, recurrent)
        i, f, _, o = torch.sigmoid(gates).chunk(4, 1)
        c = f * c + i * torch.tanh(gates[:, 2 * hidden : 3 * hidden])
        h = o * torch.tanh(c)
        states.append(h)
    return torch.stack(states, 1)


class TextLSTM(nn.Module):
    """A one-layer LSTM over the tokens, its last hidden state, then a Linear: MMSA's ``TextSubNet``.

    MMSA passes a text dropout to this sub-network but sets it to 0 for a one-layer LSTM, so none
    is applied here. Without lengths the LSTM reads every padded step and the state after the last
    one is kept, as in MMSA. With lengths it keeps the state after each sample's last valid token,
    which equals running a packed sequence (left-padded sequences are first rotated so their valid
    tokens come first); a sample with no valid token keeps the state after the first step. On a
    CPU the recurrence runs through ``lstm_states``; elsewhere through ``nn.LSTM``'s fused kernel
    (cuDNN), unless ``unrolled`` is set: ``torch.func.vmap`` (stacked seeds) has no rule for the
    fused kernel. ``torch.compile`` graph-breaks at the ``nn.LSTM`` module, by Dynamo's policy for RNNs.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(in_dim, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, out_dim)
        self.unrolled = False

    def states(self, x: Tensor) -> Tensor:
        """(B, T, in_dim) -> hidden states (B, T, hidden)."""
        if self.unrolled or x.device.type == "cpu":
            return lstm_states(x, self.rnn)
        return self.rnn(x)[0]

    def forward(self, x: Tensor, lengths: Tensor | None = None, padding: str = "right") -> Tensor:
        """(B, T, in_dim) -> (B, out_dim)."""
        if lengths is None:
            return self.proj(self.states(x)[:, -1])
        if padding == "left":
            x = valid_frames_first(x, lengths)
        states = self.states(x)
        final = (lengths.clamp(1, x.shape[1]) - 1).view(-1, 1, 1).expand(-1, 1, states.shape[2])
        return self.proj(states.gather(1, final).squeeze(1))


class UnimodalEncoders(nn.Module):
    """The three pre-fusion sub-networks; ``forward(batch)`` gives one (B, d) latent per modality."""

    def __init__(
        self,
        in_dims: dict[str, int],
        text_hidden: int,
        text_out: int,
        audio_hidden: int,
        vision_hidden: int,
        audio_dropout: float,
        vision_dropout: float,
        use_text_lengths: bool,
    ) -> None:
        super().__init__()
        self.in_dims = dict(in_dims)
        self.text = TextLSTM(in_dims["text"], text_hidden, text_out)
        self.audio = FeatureMLP(in_dims["audio"], audio_hidden, audio_dropout)
        self.vision = FeatureMLP(in_dims["vision"], vision_hidden, vision_dropout)
        self.use_text_lengths = use_text_lengths
        self.out_dims = {"text": text_out, "audio": audio_hidden, "vision": vision_hidden}

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        for m in MODALITIES:
            found = getattr(batch, m)
            if found.dim() != 3 or found.shape[2] != self.in_dims[m]:
                raise ValueError(
                    f"batch.{m} must be (batch, time, {self.in_dims[m]}) as the data spec says, "
                    f"found shape {tuple(found.shape)}"
                )
        text_lengths = _text_lengths(batch) if self.use_text_lengths else None
        return {
            "text": self.text(batch.text, text_lengths, batch.padding),
            "audio": self.audio(time_average(batch.audio, batch.mask("audio"))),
            "vision": self.vision(time_average(batch.vision, batch.mask("vision"))),
        }


def _text_lengths(batch: Batch) -> Tensor:
    """Each sample's text length: the data's text lengths, else the count of real tokens in
    ``text_bert`` (MMSA's files carry no text lengths, only the tokens' attention mask)."""
    lengths = batch.lengths.get("text")
    if lengths is not None:
        return lengths
    if batch.text_bert is not None:
        return token_mask(batch.text_bert).sum(dim=1)
    raise ValueError(
        "use_text_lengths needs each sample's text length: the data carry neither text lengths nor "
        "'text_bert' tokens (or an input mixer mixed the text, whose tokens cannot be mixed)"
    )


def vector_latents(latents: dict[str, Tensor], dims: dict[str, int], owner: str) -> tuple[Tensor, Tensor, Tensor]:
    """Check (B, d) latents of the three modalities against ``dims``; return them as (text, audio, vision)."""
    missing = [m for m in MODALITIES if m not in latents]
    if missing:
        raise KeyError(f"{owner}.fuse needs latents for {list(MODALITIES)}, missing {missing}")
    rows = latents["text"].shape[0]
    for m in MODALITIES:
        shape = tuple(latents[m].shape)
        if len(shape) != 2 or shape[1] != dims[m] or shape[0] != rows:
            raise ValueError(f"{owner}.fuse: latents[{m!r}] must be ({rows}, {dims[m]}), found {shape}")
    return latents["text"], latents["audio"], latents["vision"]
