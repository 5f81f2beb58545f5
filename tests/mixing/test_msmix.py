"""The MSMix module: the composed method against float64 re-derivations of each step."""

from __future__ import annotations

import itertools
from dataclasses import fields

import pytest
import torch

from msmix.mixing import MSMixConfig, available, create, objective, sampling
from msmix.mixing.sass import normalize_offdiagonal, select_pairs, similarity_matrix

DIMS = {"text": 12, "audio": 5, "vision": 7}


def _mixer(seed: int = 0, **settings) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create("msmix", DIMS, label_range=3.0, **settings)


def _batch(b: int, seed: int, seq: bool = False, masked: bool = False):
    g = torch.Generator().manual_seed(seed)
    t = {"text": 4, "audio": 3, "vision": 2}
    latents = {m: torch.randn(*((b, t[m], d) if seq else (b, d)), generator=g) for m, d in DIMS.items()}
    labels = (torch.rand(b, generator=g) * 6 - 3).round(decimals=1)
    masks = None
    if masked:
        masks = {m: torch.rand(b, t[m], generator=g) > 0.3 for m in DIMS}
        masks["audio"] = None
    return latents, labels, masks


def test_registered_as_a_latent_mixer_with_the_paper_preset():
    assert "msmix" in available()
    m = _mixer()
    assert m.point == "latent"
    assert (m.config.threshold, m.config.pair_mode, m.config.minmax) == (0.2, "unique", True)
    assert m.config.sal_scale == 1000.0 and m.config.alpha == 2.0


def test_presets_and_explicit_settings():
    code = MSMixConfig(preset="code").resolved()
    assert (code.threshold, code.pair_mode, code.minmax) == (0.4, "ordered", True)
    mixed = MSMixConfig(preset="code", threshold=0.1, minmax=False).resolved()
    assert (mixed.threshold, mixed.pair_mode, mixed.minmax) == (0.1, "ordered", False)
    assert MSMixConfig(sal="per_sample").resolved().sal_scale == 1.0
    with pytest.raises(TypeError, match="known"):
        create("msmix", DIMS, thresh=0.3)
    with pytest.raises(ValueError, match="preset"):
        create("msmix", DIMS, preset="arxiv")
    with pytest.raises(ValueError, match="alpha"):
        create("msmix", DIMS, alpha=0.0)


def test_the_anchored_preset_is_the_paper_s_with_a_per_sample_sal():
    paper, anchored = MSMixConfig().resolved(), MSMixConfig(preset="anchored").resolved()
    assert (paper.sal, paper.sal_scale) == ("batch_kl", 1000.0)
    assert (anchored.sal, anchored.sal_scale) == ("per_sample", 1.0)
    assert (anchored.threshold, anchored.pair_mode, anchored.minmax) == (paper.threshold, paper.pair_mode, paper.minmax)
    assert MSMixConfig(preset="anchored", sal="batch_kl").resolved().sal_scale == 1000.0  # explicit wins
    assert MSMixConfig(preset="code").resolved().sal == "batch_kl"
    with pytest.raises(ValueError, match="sal must be one of"):
        MSMixConfig(sal="kl")


def test_switching_preset_in_a_panel_takes_the_new_preset_s_sal_and_scale():
    from workbench.pair_view import with_settings

    switched = with_settings(MSMixConfig().resolved(), preset="anchored").resolved()
    assert (switched.sal, switched.sal_scale) == ("per_sample", 1.0)
    back = with_settings(switched, preset="paper").resolved()
    assert (back.sal, back.sal_scale) == ("batch_kl", 1000.0)


@pytest.mark.parametrize(("seq", "masked"), [(False, False), (True, False), (True, True)])
def test_every_step_matches_a_float64_rederivation(seq, masked):
    b = 9
    mixer = _mixer(1)
    latents, labels, masks = _batch(b, seed=2, seq=seq, masked=masked)
    result = mixer(latents, labels, generator=torch.Generator().manual_seed(7), masks=masks)
    cfg = mixer.config
    assert result.k == b

    # SASS: the similarity used for selection, and a replay of the selection with the same generator
    expected_sim = normalize_offdiagonal(similarity_matrix(latents, masks))
    torch.testing.assert_close(result.similarity, expected_sim)
    replay = torch.Generator().manual_seed(7)
    sel = select_pairs(result.similarity, b, cfg.threshold, cfg.pair_mode, replay)
    assert torch.equal(sel.index_a, result.index_a) and torch.equal(sel.index_b, result.index_b)
    base = sampling.beta(cfg.alpha, b, generator=replay).double()

    # SIG: intensities per sample, ratios per pair, label ratio as the mean
    a, c = result.index_a.tolist(), result.index_b.tolist()
    for m in DIMS:
        mask = None if not masks else masks[m]
        alone = [
            mixer.predictors[m](latents[m][i : i + 1], None if mask is None else mask[i : i + 1]) for i in range(b)
        ]
        torch.testing.assert_close(result.intensities[m], torch.cat(alone), atol=1e-6, rtol=0)
        w = result.intensities[m].detach().double().abs()
        w = (w - w.min()) / (w.max() - w.min())
        for r in range(b):
            adaptive = (w[a[r]] + 1e-8) / (w[a[r]] + w[c[r]] + 2e-8)
            assert result.ratios[m][r].item() == pytest.approx(((base[r] + adaptive) / 2).item(), abs=1e-6)
    mean_ratio = sum(result.ratios[m].detach().double() for m in DIMS) / 3
    torch.testing.assert_close(result.label_ratio.detach().double(), mean_ratio, atol=1e-6, rtol=0)

    # the mixing identity per modality (padded frames of a parent contribute nothing), masks, labels
    for m, z in latents.items():
        mask = None if not masks else masks[m]
        zz = z.double() if mask is None else z.double() * mask.double().unsqueeze(-1)
        for r in range(b):
            lam = result.ratios[m][r].item()
            expected = lam * zz[a[r]] + (1 - lam) * zz[c[r]]
            torch.testing.assert_close(result.mixed[m][r].detach().double(), expected, atol=1e-6, rtol=0)
            if mask is not None:
                assert torch.equal(result.masks[m][r], mask[a[r]] | mask[c[r]])
        if mask is None:
            assert result.masks[m] is None
    for r in range(b):
        lam = result.label_ratio[r].item()
        expected = lam * labels[a[r]].item() + (1 - lam) * labels[c[r]].item()
        assert result.labels[r].item() == pytest.approx(expected, abs=1e-6)


def test_weight_matrices_agree_with_the_pair_view():
    b = 8
    latents, labels, _ = _batch(b, seed=3)
    result = _mixer(2)(latents, labels, generator=torch.Generator().manual_seed(0))
    for key in (*DIMS, "label"):
        w = result.weights[key].detach()
        ratio = (result.label_ratio if key == "label" else result.ratios[key]).detach()
        assert w.shape == (b, b)
        torch.testing.assert_close(w.sum(1), torch.ones(b))
        for r, (a, c) in enumerate(zip(result.index_a.tolist(), result.index_b.tolist())):
            assert w[r, a].item() == pytest.approx(ratio[r].item())
            assert w[r, c].item() == pytest.approx(1 - ratio[r].item())
            assert (w[r] != 0).sum() <= 2
    for m, z in latents.items():
        torch.testing.assert_close(result.mixed[m].detach(), result.weights[m].detach() @ z, atol=1e-6, rtol=0)
    torch.testing.assert_close(result.labels.detach(), result.weights["label"].detach() @ labels, atol=1e-6, rtol=0)


def test_sequence_ratios_stay_in_unit_interval_and_intensities_are_batch_independent():
    b = 10
    mixer = _mixer(3)
    latents, labels, _ = _batch(b, seed=4, seq=True)
    latents = {m: z * 40 for m, z in latents.items()}  # saturated, signed intensities
    result = mixer(latents, labels, generator=torch.Generator().manual_seed(1))
    for m in DIMS:
        assert ((result.ratios[m] >= 0) & (result.ratios[m] <= 1)).all()
        assert (result.intensities[m] < 0).any()
    changed = {m: z.clone() for m, z in latents.items()}
    for z in changed.values():
        z[4] = -z[4] * 3
    again = mixer(changed, labels, generator=torch.Generator().manual_seed(1))
    keep = torch.arange(b) != 4
    for m in DIMS:
        torch.testing.assert_close(again.intensities[m][keep], result.intensities[m][keep], atol=1e-6, rtol=0)


@pytest.mark.parametrize("sal", ["batch_kl", "per_sample"])
def test_gradients_reach_the_intensity_predictors_from_mixup_and_from_sal(sal):
    latents, labels, _ = _batch(8, seed=5)
    only_mix = _mixer(4, sal="none")
    result = only_mix(latents, labels, generator=torch.Generator().manual_seed(0))
    assert result.aux_loss.item() == 0.0
    pred = sum(z.sum(1) for z in result.mixed.values())  # a stand-in for fuse on the mixed latents
    parts = objective(torch.zeros(8), labels, pred, result)
    parts.total.backward()
    for m in DIMS:
        grads = [p.grad for p in only_mix.predictors[m].parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), m

    with_sal = _mixer(4, sal=sal)
    with_sal(latents, labels, generator=torch.Generator().manual_seed(0)).aux_loss.backward()
    for m in DIMS:
        assert with_sal.predictors[m].head.weight.grad.abs().sum() > 0, m


def test_deterministic_under_a_fixed_generator():
    latents, labels, masks = _batch(12, seed=6, seq=True, masked=True)
    runs = [_mixer(5)(latents, labels, generator=torch.Generator().manual_seed(11), masks=masks) for _ in range(2)]
    assert torch.equal(runs[0].index_a, runs[1].index_a) and torch.equal(runs[0].index_b, runs[1].index_b)
    for m in DIMS:
        assert torch.equal(runs[0].mixed[m], runs[1].mixed[m])
    assert torch.equal(runs[0].labels, runs[1].labels)
    other = _mixer(5)(latents, labels, generator=torch.Generator().manual_seed(12), masks=masks)
    assert not torch.equal(other.labels, runs[0].labels)


def test_batch_of_two_and_of_one():
    latents, labels, _ = _batch(2, seed=7)
    result = _mixer()(latents, labels, generator=torch.Generator().manual_seed(0))
    assert result.k == 2
    assert {frozenset(p) for p in zip(result.index_a.tolist(), result.index_b.tolist())} == {frozenset({0, 1})}
    one = _mixer()({m: z[:1] for m, z in latents.items()}, labels[:1])
    assert one.k == 0 and one.aux_loss.item() == 0.0
    assert all(w.shape == (0, 1) for w in one.weights.values())
    parts = objective(torch.zeros(1), labels[:1], torch.zeros(0), one)
    assert parts.mixup.item() == 0.0 and torch.isfinite(parts.total)


def test_equal_similarities_and_equal_intensities():
    b = 6
    same = {m: torch.ones(b, d) for m, d in DIMS.items()}
    labels = torch.linspace(-2, 2, b)
    mixer = _mixer(6)
    result = mixer(same, labels, generator=torch.Generator().manual_seed(3))
    expected = torch.full((b, b), 0.5).fill_diagonal_(0.0)
    torch.testing.assert_close(result.similarity, expected)
    assert result.info["n_candidates"] == b * (b - 1) / 2 and result.info["fallback_used"] == 0.0
    replay = torch.Generator().manual_seed(3)
    select_pairs(result.similarity, b, 0.2, "unique", replay)
    base = sampling.beta(2.0, b, generator=replay)
    for m in DIMS:  # identical inputs -> identical intensities -> adaptive ratio 1/2
        torch.testing.assert_close(result.ratios[m].detach(), (base + 0.5) / 2)


def test_code_preset_uses_ordered_pairs_from_the_whole_matrix():
    b = 10
    latents, labels, _ = _batch(b, seed=8)
    mixer = _mixer(preset="code")
    result = mixer(latents, labels, generator=torch.Generator().manual_seed(0))
    s = result.similarity
    n_ordered = sum(1 for i, j in itertools.product(range(b), range(b)) if i != j and s[i, j] > 0.4)
    assert result.info["n_candidates"] == n_ordered
    flips = 0
    for seed in range(10):
        r = mixer(latents, labels, generator=torch.Generator().manual_seed(seed))
        flips += int((r.index_a > r.index_b).sum())
        assert all(s[a, c] > 0.4 for a, c in zip(r.index_a.tolist(), r.index_b.tolist()))
    assert flips > 0


def test_minmax_off_thresholds_the_raw_similarity():
    latents, labels, _ = _batch(8, seed=9)
    result = _mixer(minmax=False, threshold=0.0)(latents, labels, generator=torch.Generator().manual_seed(0))
    raw = similarity_matrix(latents).fill_diagonal_(0.0)
    torch.testing.assert_close(result.similarity, raw)
    assert result.info["n_candidates"] == sum(1 for i in range(8) for j in range(i + 1, 8) if raw[i, j] > 0)


def test_label_aware_selection_and_diagnostics():
    b = 16
    latents, labels, _ = _batch(b, seed=10)
    result = _mixer(same_polarity=True)(latents, labels, generator=torch.Generator().manual_seed(0))
    assert result.info["polarity_conflict_rate"] == 0.0
    assert all(labels[a] * labels[c] >= 0 for a, c in zip(result.index_a.tolist(), result.index_b.tolist()))
    gap = _mixer(max_label_gap=1.0)(latents, labels, generator=torch.Generator().manual_seed(0))
    assert ((labels[gap.index_a] - labels[gap.index_b]).abs() <= 1.0).all()
    plain = _mixer()(latents, labels, generator=torch.Generator().manual_seed(0))
    expected = sum(float(labels[a] * labels[c] < 0) for a, c in zip(plain.index_a.tolist(), plain.index_b.tolist())) / b
    assert plain.info["polarity_conflict_rate"] == pytest.approx(expected)
    assert 0.0 <= plain.info["random_pairing_conflict_rate"] <= 1.0


def test_no_compatible_pair_mixes_unmixed_copies_and_keeps_the_alignment_loss():
    latents, _, _ = _batch(2, seed=11)
    labels = torch.tensor([2.0, -1.0])
    result = _mixer(same_polarity=True)(latents, labels, generator=torch.Generator().manual_seed(0))
    assert result.k == 2 and torch.equal(result.index_a, result.index_b) and result.intensities is not None
    torch.testing.assert_close(result.labels, labels[result.index_a])
    for m, z in latents.items():
        torch.testing.assert_close(result.mixed[m], z[result.index_a])
    assert result.aux_loss.requires_grad
    assert float(result.info["polarity_conflict_rate"]) == 0.0


def test_k_is_configurable_and_intensity_weighted_label_ratio_is_used():
    latents, labels, _ = _batch(6, seed=12)
    result = _mixer(n_mix=20, label_ratio="intensity_weighted")(latents, labels, generator=torch.Generator().manual_seed(0))
    assert result.k == 20 and result.weights["label"].shape == (20, 6)
    assert ((result.label_ratio >= 0) & (result.label_ratio <= 1)).all()
    mean = sum(result.ratios.values()) / 3
    assert not torch.allclose(result.label_ratio, mean)


def test_bad_inputs_are_named():
    latents, labels, _ = _batch(4, seed=13)
    mixer = _mixer()
    with pytest.raises(ValueError, match="modalities"):
        mixer({"text": latents["text"]}, labels)
    with pytest.raises(ValueError, match="B x 5"):
        mixer(dict(latents, audio=torch.zeros(4, 6)), labels)
    with pytest.raises(ValueError, match="labels"):
        mixer(latents, labels.reshape(2, 2))


def test_n_mix_sets_the_number_of_mixed_samples_as_in_every_mixer():
    latents, y, masks = _batch(8, seed=3)
    mixer = _mixer(n_mix=3)
    result = mixer(latents, y, generator=torch.Generator().manual_seed(0), masks=masks)
    assert mixer.config.n_mix == 3 and result.k == 3
    assert MSMixConfig.from_settings(k=3) == MSMixConfig.from_settings(n_mix=3), "k, the old name, still loads"
    with pytest.raises(TypeError, match="not both"):
        MSMixConfig.from_settings(k=3, n_mix=3)
    for name in available():
        if name != "none":
            assert "n_mix" in {f.name for f in fields(create(name, {"text": 4, "audio": 4, "vision": 4}).config)}, name
