"""Model inputs: shapes, only what is known at t, scale-freeness, hashing, window statistics."""

from dataclasses import replace

import numpy as np
import pytest

from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.data.segments import abc_xyz
from orpr.model.features import (
    C_ATTR,
    C_CAL,
    C_SALES,
    FeatureSpec,
    Position,
    build_features,
    feature_source,
    hash_ids,
    known_calendar,
)

SPEC = FeatureSpec(window=14, patch=7, calendar_days=7, pipeline_slots=3, hash_buckets=64)


@pytest.fixture(scope="module")
def panel():
    return load_panel(load_config("configs/demo.toml", ["synthetic.units=40"]))


def states(panel, day: int):
    """Every unit at ``day``, with a made-up position."""
    units = np.arange(panel.n_units)
    d_hat = reference_rates(panel.demand, panel.active, 28, 0.01)[:, day]
    rng = np.random.default_rng(0)
    pos = Position(
        np.full(len(units), 0.95),
        rng.uniform(0, 5, len(units)) * d_hat,
        rng.uniform(0, 2, (len(units), 2)) * d_hat[:, None],
    )
    return units, d_hat, pos


def features(panel, day: int, spec: FeatureSpec = SPEC):
    units, d_hat, pos = states(panel, day)
    return build_features(
        feature_source(panel, spec), known_calendar(panel), units, day, d_hat, pos, spec
    )


def test_streams_have_the_documented_shapes(panel):
    x = features(panel, 60)
    n = panel.n_units
    assert x.sales.shape == (n, 2, 7 * C_SALES)
    assert x.calendar.shape == (n, 1, 7 * C_CAL)
    assert x.position.shape == (n, SPEC.position_size)
    assert x.attributes.shape == (n, C_ATTR)
    assert x.categories.shape == (n, panel.units.categories.shape[1] + 1)
    assert all(np.isfinite(a).all() for a in x)


def test_features_do_not_move_when_future_demand_changes(panel):
    day = 60
    before = features(panel, day)
    future = panel.demand.copy()
    future[:, day:] *= 7.0
    sales = panel.sales.copy()
    sales[:, day:] += 3.0
    stockout = panel.stockout_fraction.copy()
    stockout[:, day:] = 1.0
    changed = replace(panel, demand=future, sales=sales, stockout_fraction=stockout)
    after = features(changed, day)
    for a, b in zip(before, after, strict=True):
        assert np.array_equal(a, b)


def test_the_calendar_stream_sees_planned_promotions_ahead(panel):
    day = 60
    promo = panel.promo.copy()
    promo[:, day:] = 1 - promo[:, day:]
    after = features(replace(panel, promo=promo), day)
    before = features(panel, day)
    assert not np.array_equal(before.calendar, after.calendar)
    assert np.array_equal(before.sales, after.sales)


def test_quantities_are_divided_by_the_reference_rate(panel):
    day = 60
    scaled = replace(panel, demand=panel.demand * 10, sales=panel.sales * 10)
    units, d_hat, pos = states(panel, day)
    pos10 = Position(pos.alpha, pos.on_hand * 10, pos.pipeline * 10)

    def build(p, rate, position):
        return build_features(
            feature_source(p, SPEC), known_calendar(p), units, day, rate, position, SPEC
        )

    a, b = build(panel, d_hat, pos), build(scaled, d_hat * 10, pos10)
    np.testing.assert_allclose(a.sales, b.sales, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.position, b.position, rtol=1e-5, atol=1e-6)
    scale_free = [0, 1, 2, 3, 4, *range(7, C_ATTR)]  # all but log d̂ and log mean
    np.testing.assert_allclose(
        a.attributes[:, scale_free], b.attributes[:, scale_free], rtol=1e-5, atol=1e-5
    )


def test_a_source_of_only_the_last_window_gives_the_same_features(panel):
    day = 90
    units, d_hat, pos = states(panel, day)
    cal = known_calendar(panel)
    full = build_features(feature_source(panel, SPEC), cal, units, day, d_hat, pos, SPEC)
    start = day - SPEC.window
    part = feature_source(panel.take_days(start, day), SPEC, day0=start)
    window = build_features(part, cal, units, day, d_hat, pos, SPEC)
    for a, b in zip(full, window, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_window_segments_equal_abc_xyz_of_those_days(panel):
    day, window = 84, 28
    spec = replace(SPEC, window=window)
    x = features(panel, day, spec)
    seen = panel.take_days(day - window, day)
    expected = abc_xyz(seen.demand, seen.active, panel.units.unit_cost)
    abc = np.array(list("ABC"))[x.attributes[:, 12:15].argmax(1)]
    xyz = np.array(list("XYZ"))[x.attributes[:, 15:18].argmax(1)]
    assert (np.char.add(abc, xyz) == expected).all()


def test_days_before_the_data_are_zero_and_marked_unlisted(panel):
    x = features(panel, 3)
    days = x.sales.reshape(panel.n_units, SPEC.window, C_SALES)
    assert (days[:, : SPEC.window - 3] == 0).all()
    assert (days[:, -3:, 7] == 1).all()  # listed


def test_hashed_ids_are_stable_and_any_category_gets_a_bucket():
    ids = hash_ids(np.array(["fruit", "veg", "fruit", "", "never seen"]), 0, 64)
    assert ids[0] == ids[2] and ids[3] == 0
    assert ((ids[[0, 1, 4]] >= 1) & (ids[[0, 1, 4]] < 64)).all()
    assert hash_ids(np.array(["fruit"]), 0, 64)[0] == ids[0]
    assert hash_ids(np.array(["fruit"]), 1, 2**20)[0] != hash_ids(np.array(["fruit"]), 0, 2**20)[0]
