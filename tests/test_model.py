"""The model: shapes, size, losses, one step, overfitting one batch, checkpoints."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from orpr.config import load_config
from orpr.model.checkpoint import load_model, load_optimizer, optimizer_tensors, save_model
from orpr.model.features import C_ATTR, C_CAL, C_SALES, Features, FeatureSpec
from orpr.model.network import (
    ModelSpec,
    ORPRModel,
    count_parameters,
    kl_to_standard_normal,
    label_cross_entropy,
    pinball_loss,
)
from orpr.training.pretrain import model_spec

TINY = ModelSpec(
    FeatureSpec(window=14, patch=7, calendar_days=7, pipeline_slots=3, hash_buckets=32),
    d_model=16,
    layers=1,
    heads=2,
    d_ff=32,
    latent=4,
    decoder_hidden=16,
    horizon=5,
    n_bins=11,
)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def batch(spec: ModelSpec, n: int = 8, seed: int = 0) -> Features:
    g = torch.Generator().manual_seed(seed)
    f = spec.features
    return Features(
        torch.rand(n, f.window // f.patch, f.patch * C_SALES, generator=g),
        torch.rand(n, f.calendar_days // f.patch, f.patch * C_CAL, generator=g),
        torch.rand(n, f.position_size, generator=g),
        torch.randn(n, C_ATTR, generator=g),
        torch.randint(0, f.hash_buckets, (n, 3), generator=g),
    )


def test_outputs_have_the_documented_shapes():
    model = ORPRModel(TINY)
    h = model.encoder(batch(TINY))
    quantiles, logits = model(batch(TINY))
    mu, logvar = model.decision_head.posterior(h)
    assert h.shape == (8, 16)
    assert quantiles.shape == (8, 5, 3)
    assert logits.shape == (8, 11)
    assert mu.shape == logvar.shape == (8, 4)


def test_the_default_model_has_about_093_million_parameters():
    n = count_parameters(ORPRModel(model_spec(load_config().model, 61)))
    assert 0.8 * 930_000 <= n <= 1.2 * 930_000


def test_forecast_quantiles_never_cross():
    q = ORPRModel(TINY).sales_head(torch.randn(64, 16) * 5)
    assert (q[..., 1:] >= q[..., :-1]).all()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-20, 20), min_size=4, max_size=4),
    st.lists(st.floats(-10, 5), min_size=4, max_size=4),
)
def test_kl_to_the_standard_normal_is_never_negative(mu, logvar):
    kl = kl_to_standard_normal(torch.tensor([mu]), torch.tensor([logvar]))
    assert kl.item() >= 0.0


def test_kl_is_zero_exactly_at_the_prior():
    assert kl_to_standard_normal(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0


def test_pinball_loss_of_a_hand_computed_case():
    pred = torch.tensor([[[1.0, 2.0, 3.0]]])  # one state, one day, quantiles .1 .5 .9
    target = torch.tensor([[2.5]])
    # .1·1.5, .5·0.5, (1 − .9)·0.5 → mean over quantiles
    expected = (0.1 * 1.5 + 0.5 * 0.5 + 0.1 * 0.5) / 3
    loss = pinball_loss(pred, target, torch.ones(1, 1, dtype=torch.bool), (0.1, 0.5, 0.9))
    assert loss.item() == pytest.approx(expected)
    masked = pinball_loss(pred, target, torch.zeros(1, 1, dtype=torch.bool), (0.1, 0.5, 0.9))
    assert masked.item() == 0.0


def test_smoothed_cross_entropy_spreads_mass_onto_the_neighbours():
    logits = torch.log(torch.tensor([[0.1, 0.8, 0.1, 1e-9]]))
    target = torch.tensor([1])
    plain = label_cross_entropy(logits, target)
    smooth = label_cross_entropy(logits, target, smoothing=0.2)
    assert plain.item() == pytest.approx(-np.log(0.8), rel=1e-5)
    expected = -(0.8 * np.log(0.8) + 0.1 * np.log(0.1) + 0.1 * np.log(0.1))
    assert smooth.item() == pytest.approx(expected, rel=1e-5)


def combined_loss(model: ORPRModel, x: Features, target: torch.Tensor) -> torch.Tensor:
    h = model.encoder(x)
    mu, logvar = model.decision_head.posterior(h)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    y = torch.ones(x.sales.shape[0], TINY.horizon)
    demand = pinball_loss(
        model.sales_head(h), y, torch.ones_like(y, dtype=torch.bool), TINY.quantiles
    )
    decision = label_cross_entropy(model.decision_head.logits(z, h), target)
    return demand + decision + 0.1 * kl_to_standard_normal(mu, logvar).mean()


def test_one_optimiser_step_changes_every_trainable_parameter():
    model = ORPRModel(TINY)
    x, target = batch(TINY, 32), torch.arange(32) % TINY.n_bins
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    combined_loss(model, x, target).backward()
    opt.step()
    unchanged = [k for k, v in model.named_parameters() if torch.equal(v, before[k])]
    assert unchanged == []


def test_a_tiny_model_overfits_one_batch():
    model = ORPRModel(TINY)
    x, target = (
        batch(TINY, 16),
        torch.randint(0, TINY.n_bins, (16,), generator=torch.Generator().manual_seed(1)),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        opt.zero_grad()
        h = model.encoder(x)
        mu, _ = model.decision_head.posterior(h)
        label_cross_entropy(model.decision_head.logits(mu, h), target).backward()
        opt.step()
    with torch.no_grad():
        pred = model.decision_logits(x).argmax(1)
    assert (pred == target).all()


def test_a_checkpoint_reloads_to_identical_outputs(tmp_path):
    model = ORPRModel(TINY)
    torch.nn.init.normal_(model.encoder.pos_emb)
    save_model(tmp_path, model, list(np.arange(11) * 0.5), {"alpha": 0.9})
    loaded, grid, meta = load_model(tmp_path)
    model.eval()
    x = batch(TINY)
    with torch.no_grad():
        for a, b in zip(model(x), loaded(x), strict=True):
            assert torch.equal(a, b)
    assert loaded.spec == TINY and grid[-1] == 5.0 and meta == {"alpha": 0.9}


def test_optimiser_state_round_trips_through_tensors():
    model = ORPRModel(TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    combined_loss(model, batch(TINY), torch.zeros(8, dtype=torch.long)).backward()
    opt.step()
    fresh = torch.optim.AdamW(model.parameters(), lr=1e-2)
    load_optimizer(fresh, optimizer_tensors(opt))
    for (_, a), (_, b) in zip(
        sorted(optimizer_tensors(opt).items()),
        sorted(optimizer_tensors(fresh).items()),
        strict=True,
    ):
        assert torch.equal(a, b)
