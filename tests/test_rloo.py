"""RLOO's formulas: leave-one-out advantages, the Pareto and rule rewards, the exact KL."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from orpr.rl.rloo import (
    categorical_entropy,
    categorical_kl,
    loo_advantages,
    pareto_outcome,
    rloo_loss,
    rule_reward,
    sim_reward,
)

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 9)), elements=finite))
def test_advantages_sum_to_zero_and_equal_the_leave_one_out_formula(rewards):
    a = loo_advantages(torch.from_numpy(rewards)).numpy()
    k = rewards.shape[1]
    assert np.allclose(a.sum(1), 0.0, atol=1e-9)
    for j in range(k):
        others = np.delete(rewards, j, axis=1).mean(1)
        assert np.allclose(a[:, j], rewards[:, j] - others)


@pytest.mark.parametrize("k", [0, 1])
def test_fewer_than_two_samples_are_refused(k):
    with pytest.raises(ValueError, match="at least 2"):
        loo_advantages(torch.zeros(3, k))


def test_pareto_cases():
    ref_s, ref_l = np.array(10.0), np.array(2.0)
    stock = np.array([9.0, 10.0, 11.0, 10.0, 10.0, 9.0, 11.0])
    loss = np.array([2.0, 1.0, 2.0, 3.0, 2.0, 3.0, 1.0])
    # dominates, dominates, dominated, dominated, equal, trade-off, trade-off
    assert pareto_outcome(stock, loss, ref_s, ref_l).tolist() == [1, 1, -1, -1, 0, 0, 0]
    r = sim_reward(stock, loss, ref_s, ref_l, lam=np.array(2.0), scale=np.array(4.0))
    assert r[:5].tolist() == [1.0, 1.0, -1.0, -1.0, 0.0]
    # trade-offs: −(Δstock + λ·Δloss)/scale = −(−1 + 2)/4 and −(1 − 2)/4
    assert r[5] == pytest.approx(-0.25)
    assert r[6] == pytest.approx(0.25)


def test_tie_break_is_clipped_and_follows_lambda():
    stock, loss = np.array([0.0, 100.0]), np.array([50.0, 0.0])
    r = sim_reward(stock, loss, np.array(10.0), np.array(10.0), np.array(1.0), np.array(1.0))
    assert r.tolist() == [-1.0, -1.0]  # −(−10 + 40) → −1 ; −(90 − 10) → −1
    cheap_loss = sim_reward(
        stock[:1], loss[:1], np.array(10.0), np.array(10.0), np.array(0.1), np.array(100.0)
    )
    assert cheap_loss[0] > 0  # with λ* small, saving 10 of stock beats 40 more lost


def test_outcomes_equal_up_to_float32_rounding_count_as_equal():
    ref = np.float64(np.float32(1234.567))
    assert pareto_outcome(np.array(ref * (1 + 1e-8)), np.array(1.0), ref, np.array(1.0)) == 0


def test_rule_reward_is_heavier_against_the_labels_direction():
    # label raises the position (v* = 6 > position 3): a shortfall is against it
    short = rule_reward(np.array(4.0), np.array(6.0), np.array(3.0), scale=10.0, against=2.0)
    over = rule_reward(np.array(8.0), np.array(6.0), np.array(3.0), scale=10.0, against=2.0)
    assert short == pytest.approx(-0.4) and over == pytest.approx(-0.2)
    # label lowers the position (v* = 2 < position 5): an excess is against it
    short = rule_reward(np.array(1.0), np.array(2.0), np.array(5.0), scale=10.0, against=2.0)
    over = rule_reward(np.array(3.0), np.array(2.0), np.array(5.0), scale=10.0, against=2.0)
    assert over == pytest.approx(-0.2) and short == pytest.approx(-0.1)
    # on the label: 0; far away: −1 at most; no direction: symmetric
    assert rule_reward(np.array(6.0), np.array(6.0), np.array(3.0), 10.0, 2.0) == 0.0
    assert rule_reward(np.array(30.0), np.array(0.0), np.array(3.0), 10.0, 2.0) == -1.0
    a = rule_reward(np.array([5.0, 7.0]), np.array(6.0), np.array(6.0), 10.0, 2.0)
    assert a[0] == a[1] == pytest.approx(-0.1)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 3), st.integers(2, 12)),
        elements=st.floats(-20, 20, width=32),
    )
)
def test_kl_is_zero_against_itself_and_nonnegative(logits):
    p = torch.from_numpy(logits)
    assert torch.allclose(categorical_kl(p, p), torch.zeros(p.shape[0]), atol=1e-6)
    q = torch.flip(p, dims=[-1]) + 1.0
    assert (categorical_kl(p, q) >= 0).all()


def test_kl_matches_the_definition_and_entropy_is_log_n_for_uniform():
    p = torch.tensor([[0.7, 0.2, 0.1]]).log()
    q = torch.tensor([[0.2, 0.3, 0.5]]).log()
    expected = 0.7 * np.log(0.7 / 0.2) + 0.2 * np.log(0.2 / 0.3) + 0.1 * np.log(0.1 / 0.5)
    assert categorical_kl(p, q).item() == pytest.approx(expected, rel=1e-5)
    assert categorical_entropy(torch.zeros(1, 8)).item() == pytest.approx(np.log(8), rel=1e-6)


def test_the_loss_pushes_up_actions_with_positive_advantage_only():
    logits = torch.zeros(1, 2, 4, requires_grad=True)
    actions = torch.tensor([[1, 3]])
    logp = torch.log_softmax(logits, -1).gather(-1, actions[..., None]).squeeze(-1)
    adv = loo_advantages(torch.tensor([[1.0, 0.0]]))
    loss = rloo_loss(logp, adv, torch.zeros(1, 2), beta=0.5)
    loss.backward()
    g = logits.grad[0]
    assert g[0, 1] < 0  # descending the loss raises action 1's logit (advantage +1)
    assert g[1, 3] > 0  # and lowers action 3's (advantage −1)


def test_the_dual_step_raises_m_while_the_policy_loses_more_than_its_budget():
    from orpr.rl.rloo import LOG_M_BOUNDS, dual_step

    assert dual_step(0.0, loss_share=0.10, budget=0.05, lr=0.1) == pytest.approx(0.1)
    assert dual_step(0.0, loss_share=0.075, budget=0.05, lr=0.1) == pytest.approx(0.05)
    assert dual_step(0.0, loss_share=0.0, budget=0.05, lr=0.1) == pytest.approx(-0.1)
    assert dual_step(0.0, loss_share=0.05, budget=0.05, lr=0.1) == 0.0
    assert dual_step(LOG_M_BOUNDS[1], 1.0, 0.05, 0.1) == LOG_M_BOUNDS[1]
