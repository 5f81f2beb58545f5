"""``msmix.testing``: the tiny backbone and data keep their promises, and the contract checks pass on
sound backbones and mixers and fail, with one clear line, on broken ones (so the checks can fail)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.data.dataset import Split
from msmix.data.spec import DataSpec
from msmix.mixing import Latents, Masks, MixResult
from msmix.mixing.manifold import ManifoldMixup
from msmix.models import BACKBONES, Encoded, FuseOutput, register_backbone
from msmix.testing import TinyBackbone, check_backbone, check_mixer, tiny_dataset, tiny_spec
from msmix.testing.tiny_backbone import masked_mean


def fails(check: Callable[[Any], None], subject: Any, match: str) -> str:
    """Run a check that must fail; return its message after checking it is one line matching ``match``."""
    with pytest.raises(AssertionError, match=match) as error:
        check(subject)
    message = str(error.value)
    assert "\n" not in message
    return message


# The tiny backbone and data.


@pytest.mark.parametrize(
    ("settings", "spec"),
    [
        ({}, None),
        ({"sequence": "text", "hidden": 4, "head_hidden": 8}, None),
        ({"sequence": "vision", "dropout": 0.5}, None),
        ({}, tiny_spec()),
        ({"sequence": "text", "hidden": 4, "head_hidden": 8}, tiny_spec("text")),
    ],
)
def test_tiny_backbone_keeps_the_contract(settings: dict[str, Any], spec: DataSpec | None) -> None:
    check_backbone(TinyBackbone, spec=spec, settings=settings)


def test_tiny_backbone_keeps_its_sequence_latent_and_refuses_other_names() -> None:
    data = tiny_dataset(n=8, sequence="text")
    enc = TinyBackbone(data.spec, hidden=4, sequence="text").encode(data.train.all())
    assert enc.latents["text"].shape == (8, 6, 4) and enc.masks["text"] is not None
    assert enc.latents["audio"].shape == enc.latents["vision"].shape == (8, 4)
    with pytest.raises(ValueError, match="sequence must be one of"):
        TinyBackbone(data.spec, sequence="smell")


@pytest.mark.parametrize("sequence", MODALITIES)
def test_tiny_dataset_is_deterministic_small_and_shaped_as_its_spec(sequence: str) -> None:
    start = time.perf_counter()
    data = tiny_dataset(n=40, seed=3, sequence=sequence)
    assert time.perf_counter() - start < 0.5
    again, other = tiny_dataset(n=40, seed=3, sequence=sequence), tiny_dataset(n=40, seed=4, sequence=sequence)
    assert data.spec == tiny_spec(sequence) and data.spec.synthetic and data.spec.kind == "mosi"
    assert [len(data[s]) for s in ("train", "valid", "test")] == [40, 20, 20]
    for split in ("train", "valid", "test"):
        part = data[split]
        for m in MODALITIES:
            x = getattr(part, m)
            assert x.shape == (len(part), data.spec.seq_lens[m], data.spec.dims[m])
            assert torch.equal(x, getattr(again[split], m))
        assert set(part.lengths) == {sequence}
        lengths = part.lengths[sequence]
        assert ((lengths >= 2) & (lengths <= data.spec.seq_lens[sequence])).all()
        padded = ~part.all().mask(sequence)
        assert padded.any() and (getattr(part, sequence)[padded] == 0).all()
        assert part.labels.abs().max() <= 3 and (part.labels == 0).any()
        assert len(set(part.ids)) == len(part)
    assert not torch.equal(data.train.labels, other.train.labels)


def test_tiny_dataset_labels_can_be_learned() -> None:
    """Every modality carries the label: a least-squares fit on the training split predicts the test split."""
    data = tiny_dataset(n=256)

    def features(split: Split) -> Tensor:
        return torch.cat([getattr(split, m).mean(dim=1) for m in MODALITIES] + [torch.ones(len(split), 1)], dim=1)

    w = torch.linalg.lstsq(features(data.train), data.train.labels.unsqueeze(1)).solution
    pred = (features(data.test) @ w).squeeze(1)
    assert torch.corrcoef(torch.stack([pred, data.test.labels]))[0, 1] > 0.8


# Broken backbones, each breaking one rule.


class IgnoresVision(TinyBackbone):
    """``fuse`` never reads the vision latent."""

    def fuse(self, latents: Latents, masks: Masks | None = None) -> FuseOutput:
        return super().fuse({**latents, "vision": torch.zeros_like(latents["vision"])}, masks)


class FlatPredictions(TinyBackbone):
    """Predictions of shape (B,) instead of (B, 1)."""

    def fuse(self, latents: Latents, masks: Masks | None = None) -> FuseOutput:
        return FuseOutput(super().fuse(latents, masks).pred.reshape(-1))


class WrongLatentDims(TinyBackbone):
    """``latent_dims`` promises 9 audio features; ``encode`` gives 8."""

    def __init__(self, spec: DataSpec, **settings: Any) -> None:
        super().__init__(spec, **settings)
        self.latent_dims = {**self.latent_dims, "audio": 9}


class FloatMask(TinyBackbone):
    """Masks of 0.0 / 1.0 instead of booleans."""

    def encode(self, batch: Batch) -> Encoded:
        enc = super().encode(batch)
        enc.masks = {m: None if mask is None else mask.float() for m, mask in enc.masks.items()}
        return enc


class ForwardAddsOne(TinyBackbone):
    """``forward`` is not ``fuse(encode())``."""

    def forward(self, batch: Batch) -> FuseOutput:
        return FuseOutput(super().forward(batch).pred + 1)


class DropoutInEvaluation(TinyBackbone):
    """Dropout that stays on in evaluation mode."""

    def fuse(self, latents: Latents, masks: Masks | None = None) -> FuseOutput:
        return FuseOutput(nn.functional.dropout(super().fuse(latents, masks).pred, 0.5, training=True))


class CentresTheBatch(TinyBackbone):
    """Each prediction depends on the rest of the batch."""

    def fuse(self, latents: Latents, masks: Masks | None = None) -> FuseOutput:
        pred = super().fuse(latents, masks).pred
        return FuseOutput(pred - pred.mean())


class SpareLayer(TinyBackbone):
    """A trainable layer the forward pass never uses."""

    def __init__(self, spec: DataSpec, **settings: Any) -> None:
        super().__init__(spec, **settings)
        self.spare = nn.Linear(2, 2)


class BatchStatistics(TinyBackbone):
    """Batch normalisation of the predictions: fails on a training batch of one."""

    def __init__(self, spec: DataSpec, **settings: Any) -> None:
        super().__init__(spec, **settings)
        self.norm = nn.BatchNorm1d(1)

    def fuse(self, latents: Latents, masks: Masks | None = None) -> FuseOutput:
        return FuseOutput(self.norm(super().fuse(latents, masks).pred))


SHARED_RECIPE = {"model": {"hidden": 8}, "train": {"batch_size": 4, "lr": 0.1, "loss": "l1", "patience": 1}}


class SharedRecipe(TinyBackbone):
    """Hands out the same recipe dict on every call, so a caller's change leaks into the next."""

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return SHARED_RECIPE


class RecipeWithoutLoss(TinyBackbone):
    """A training recipe that does not say which loss."""

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return {"model": {}, "train": {"batch_size": 4, "lr": 0.1, "patience": 1}}


class RecipeWithTypo(TinyBackbone):
    """A training recipe with a setting TrainConfig does not know."""

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return {"model": {}, "train": {"batch_size": 4, "lr": 0.1, "loss": "l1", "patience": 1, "epochs": 3}}


class TimeAveraging(TinyBackbone):
    """Time-averages audio and vision over their valid frames, as the contract asks."""

    needs_time_average = True

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        config = super().default_config(kind)
        config["model"]["sequence"] = "text"
        return config


class AveragesPaddingToo(TimeAveraging):
    """Claims time-averaged audio and vision but averages their padding frames too."""

    def encode(self, batch: Batch) -> Encoded:
        enc = super().encode(batch)
        for m in ("audio", "vision"):
            enc.latents[m] = self.proj[m](masked_mean(getattr(batch, m), None))
        return enc


class ReadsPadding(TinyBackbone):
    """Averages its sequence latent over every frame, padding included, and says it masks padding."""

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        return super().fuse(latents, {m: None for m in latents})


class SaysItReadsPadding(ReadsPadding):
    """Reads padding frames as ``ReadsPadding`` does, but says so (a reference's behaviour, kept on purpose)."""

    @property
    def masks_padding(self) -> bool:
        return False


class RemembersTheBatchSize(TinyBackbone):
    """Keeps the batch size ``encode`` saw and refuses any other in ``fuse``, so mixed rows break it."""

    def encode(self, batch: Batch) -> Encoded:
        self.rows = len(batch)
        return super().encode(batch)

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        rows = latents["text"].shape[0]
        if rows not in (self.rows, 2 * self.rows):
            raise ValueError(f"fuse expects {self.rows} rows, got {rows}")
        return super().fuse(latents, masks)


@pytest.mark.parametrize(
    ("backbone", "match"),
    [
        (ReadsPadding, r"padding frames of audio or vision change predictions \(Tensor-likes"),
        (RemembersTheBatchSize, "the latent_mixers_feed_fuse check stopped on ValueError: fuse expects 6 rows, got 9"),
        (IgnoresVision, "changing vision of sample 2 leaves its prediction unchanged, so the model ignores vision"),
        (FlatPredictions, r"fuse of a batch of 5 gave predictions of shape \(5,\), not \(5, 1\)"),
        (WrongLatentDims, "the audio latent has 8 features, but latent_dims says 9"),
        (FloatMask, "the audio mask has dtype torch.float32, not torch.bool"),
        (ForwardAddsOne, r"forward differs from fuse\(encode\(\)\)"),
        (DropoutInEvaluation, "two forward passes in evaluation mode differ"),
        (CentresTheBatch, "fuse of a stacked batch changes the first half's predictions"),
        (SpareLayer, r"no gradient reaches the trainable parameters \['spare.weight', 'spare.bias'\]"),
        (BatchStatistics, "the training_batch_of_one check stopped on ValueError: Expected more than 1 value"),
        (SharedRecipe, "recipes must be returned as copies"),
        (RecipeWithoutLoss, r"default_config\('mosi'\)\['train'\] lacks \['loss'\]"),
        (RecipeWithTypo, r"\['train'\] is refused by TrainConfig: .*epochs"),
        (AveragesPaddingToo, r"padding frames of audio or vision change predictions \(right padding\)"),
    ],
)
def test_a_broken_backbone_fails_with_a_one_line_reason(backbone: type, match: str) -> None:
    message = fails(check_backbone, backbone, match)
    assert message.startswith(f"backbone class {backbone.__name__}: ")


def test_a_backbone_that_says_it_reads_padding_is_not_held_to_masking_it() -> None:
    check_backbone(SaysItReadsPadding)


def test_a_time_averaging_backbone_that_reads_valid_frames_only_passes() -> None:
    check_backbone(TimeAveraging)


def test_registered_backbones_are_checked_through_create_and_named_by_their_name() -> None:
    names = {cls: cls.name for cls in (TimeAveraging, SpareLayer)}
    register_backbone("_averaging")(TimeAveraging)
    register_backbone("_spare")(SpareLayer)
    try:
        check_backbone("_averaging")
        check_backbone(TimeAveraging)
        fails(check_backbone, "_spare", r"^backbone '_spare': no gradient reaches the trainable parameters")
    finally:
        for name in ("_averaging", "_spare"):
            BACKBONES.unregister(name)
        for cls, name in names.items():
            cls.name = name


# Broken mixers, each breaking one rule.


class LabelRowsShort(ManifoldMixup):
    """Label weights that sum to 0.8."""

    def mix(self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None) -> MixResult:
        res = super().mix(latents, labels, masks, generator)
        res.weights["label"] = res.weights["label"] * 0.8
        return res


class ScaledMix(ManifoldMixup):
    """Mixed samples 10% larger than the weighted sums."""

    def mix(self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None) -> MixResult:
        res = super().mix(latents, labels, masks, generator)
        res.mixed = {m: z * 1.1 for m, z in res.mixed.items()}
        return res


class IgnoresTheGenerator(ManifoldMixup):
    """Draws from a fixed seed, whatever generator it is given."""

    def mix(self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None) -> MixResult:
        return super().mix(latents, labels, masks, torch.Generator().manual_seed(0))


class ForgetsMasks(ManifoldMixup):
    """Drops the masks of mixed sequences."""

    def mix(self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None) -> MixResult:
        res = super().mix(latents, labels, masks, generator)
        res.masks = {m: None for m in res.mixed}
        return res


class DetachesLatents(ManifoldMixup):
    """Mixes detached latents, so no gradient flows back."""

    def mix(self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None) -> MixResult:
        return super().mix({m: z.detach() for m, z in latents.items()}, labels, masks, generator)


class MixesOne(ManifoldMixup):
    """Returns a lone sample as its own mix instead of mixing nothing."""

    def forward(
        self, latents: Latents, labels: Tensor, generator: torch.Generator | None = None, masks: Masks | None = None
    ) -> MixResult:
        y = labels.reshape(-1)
        if y.shape[0] > 1:
            return super().forward(latents, labels, generator, masks)
        one = y.new_ones((1, 1))
        weights = {**{m: one for m in latents}, "label": one}
        return MixResult(weights=weights, mixed=dict(latents), labels=y, aux_loss=y.new_zeros(()))


@pytest.mark.parametrize(
    ("mixer", "match"),
    [
        (LabelRowsShort, r"row 0 of weights\['label'\] sums to 0.8, not 1 \(flat layout\)"),
        (ScaledMix, r"mixed\['text'\] is not the weighted sum of the batch \(flat layout\)"),
        (IgnoresTheGenerator, "seeds 7 and 8 gave the same label weights"),
        (ForgetsMasks, r"no mask for the mixed 'text' latents \(sequence layout\)"),
        (DetachesLatents, r"mixed\['text'\] carries no gradient back to the latents \(flat layout\)"),
        (MixesOne, "a batch of one gave k = 1, not 0"),
    ],
)
def test_a_broken_mixer_fails_with_a_one_line_reason(mixer: type, match: str) -> None:
    message = fails(check_mixer, mixer, match)
    assert message.startswith(f"mixer class {mixer.__name__}: ")


def test_sound_mixers_pass_by_name_and_by_class_and_with_other_dims() -> None:
    check_mixer(ManifoldMixup)
    check_mixer("manifold", only=["declaration", "shapes"])

    class Plain(ManifoldMixup):
        pass

    check_mixer(Plain)
    check_mixer("mixup", dims={"words": 3, "sound": 2})


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown backbone checks \['no_such_check'\]"):
        check_backbone(TinyBackbone, only=["no_such_check"])
    with pytest.raises(ValueError, match=r"unknown mixer checks \['no_such_check'\]"):
        check_mixer("none", only=["no_such_check"])
    with pytest.raises(KeyError, match="unknown backbone 'nope'"):
        check_backbone("nope")
    with pytest.raises(KeyError, match="nope"):
        check_mixer("nope")
    with pytest.raises(TypeError, match="Backbone subclass"):
        check_backbone(TinyBackbone(tiny_spec()))  # an instance, not a class
    with pytest.raises(TypeError, match="Mixer subclass"):
        check_mixer(3)


def test_checks_leave_the_global_random_state_alone() -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_backbone(TinyBackbone, only=["gradients_reach_every_parameter"])
    check_mixer("msmix", only=["seeds"])
    assert torch.equal(torch.rand(3), expected)


def test_the_package_stays_out_of_import_msmix_needs_no_pytest_and_checks_under_dash_o() -> None:
    script = "\n".join([
        "import sys",
        "import msmix",
        "assert 'msmix.testing' not in sys.modules, 'import msmix imports msmix.testing'",
        "from msmix.mixing.manifold import ManifoldMixup",
        "import msmix.testing",
        "assert 'pytest' not in sys.modules, 'msmix.testing imports pytest'",
        "class Short(ManifoldMixup):",
        "    def mix(self, *args):",
        "        res = super().mix(*args)",
        "        res.weights['label'] = res.weights['label'] * 0.8",
        "        return res",
        "try:",
        "    msmix.testing.check_mixer(Short)",
        "except AssertionError as error:",
        "    print('failed:', error)",
    ])
    done = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "failed: mixer class Short: row 0 of weights['label'] sums to 0.8" in done.stdout
