"""The panel: every unit's daily history as dense ``(unit, day)`` arrays, and the unit table.

Every adapter (synthetic, canonical, FreshRetailNet, M5) produces a ``Panel``; everything
downstream (simulator, labels, features, backtest) reads only this.

Symbols: ``L`` lead time (days), ``R`` review period (days), ``c`` unit value, ``h`` holding
rate (fraction of ``c`` per unit-day), ``p`` lost-sale penalty (money per lost unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np


@dataclass(frozen=True)
class Units:
    """One row per unit; arrays of shape ``(unit,)`` unless stated.

    Attributes:
        unit_id: unit identifiers, str.
        location: store or DC identifier, str.
        categories: category levels, coarsest first, str ``(unit, level)``.
        lead_time: ``L``, days from order to arrival, int64 ≥ 0.
        review_period: ``R``, days between order opportunities, int64 ≥ 1.
        review_offset: a unit orders on days with ``(day − offset) % R == 0``, int64 in [0, R).
        unit_cost: ``c``, money per unit, float64 > 0.
        holding_rate: ``h``, fraction of ``c`` per unit-day held, float64 ≥ 0.
        lost_penalty: ``p``, money per lost unit, float64 ≥ 0.
        sources: where each parameter came from (``"data"``, ``"config: category rule"``…).
        whole_units: goods come in whole units: every order-up-to level is rounded to a
            whole number (``orpr.baselines.backtest.order_up_to``), so integer demand keeps stock integer.
    """

    unit_id: np.ndarray
    location: np.ndarray
    categories: np.ndarray
    lead_time: np.ndarray
    review_period: np.ndarray
    review_offset: np.ndarray
    unit_cost: np.ndarray
    holding_rate: np.ndarray
    lost_penalty: np.ndarray
    sources: dict[str, str] = field(default_factory=dict)
    whole_units: bool = False

    @property
    def n(self) -> int:
        return len(self.unit_id)

    @property
    def category(self) -> np.ndarray:
        """Top-level category of each unit, str ``(unit,)``."""
        return self.categories[:, 0]

    def take(self, idx: np.ndarray) -> Units:
        """The units at positions ``idx``, in that order."""
        arrays = [f.name for f in fields(self) if f.name not in ("sources", "whole_units")]
        return replace(self, **{name: getattr(self, name)[idx] for name in arrays})

    def index_of(self, ids: np.ndarray) -> np.ndarray:
        """Each id's position in the table, −1 for an id the table does not hold, int64."""
        wanted = np.asarray(ids).astype(str)
        known = self.unit_id.astype(str)
        if len(known) == 0:
            return np.full(len(wanted), -1, dtype=np.int64)
        order = np.argsort(known)
        pos = np.clip(np.searchsorted(known[order], wanted), 0, len(known) - 1)
        return np.where(known[order][pos] == wanted, order[pos], -1).astype(np.int64)


@dataclass(frozen=True)
class Panel:
    """Daily history of every unit on one shared date grid; arrays ``(unit, day)``.

    Attributes:
        units: the unit table.
        dates: the date grid, datetime64[D] ``(day,)``, consecutive days.
        sales: recorded sales, units ≥ 0 (censored on stockout days).
        demand: latent demand, units ≥ 0: sales where fully in stock, else an estimate.
        stockout_fraction: share of the selling day out of stock, in [0, 1].
        discount: price ratio of the day (1.0 = full price).
        promo: promotion flag, int8 0/1.
        holiday: holiday flag, int8 0/1.
        active: the unit is listed on that day (False before launch / after delisting).
        in_stock_share: expected share of the day's demand that fell in in-stock hours, in
            [0, 1] (from an hourly profile where the data has hours, else
            ``1 − stockout_fraction``).
        true_demand: the real demand when known (synthetic data), else ``None``.
        source: where the panel came from (file path or ``"synthetic"``).
    """

    units: Units
    dates: np.ndarray
    sales: np.ndarray
    demand: np.ndarray
    stockout_fraction: np.ndarray
    discount: np.ndarray
    promo: np.ndarray
    holiday: np.ndarray
    active: np.ndarray
    in_stock_share: np.ndarray
    true_demand: np.ndarray | None = None
    source: str = ""

    @property
    def n_units(self) -> int:
        return self.sales.shape[0]

    @property
    def n_days(self) -> int:
        return self.sales.shape[1]

    @property
    def censored(self) -> np.ndarray:
        """Unit-days with some out-of-stock time, bool ``(unit, day)``."""
        return self.stockout_fraction > 0

    def take_units(self, idx: np.ndarray) -> Panel:
        """The panel restricted to the units at positions ``idx``."""
        idx = np.asarray(idx)
        return replace(
            self,
            units=self.units.take(idx),
            **{name: arr[idx] for name, arr in self._daily().items()},
        )

    def take_days(self, start: int, stop: int) -> Panel:
        """The panel restricted to days ``[start, stop)``."""
        return replace(
            self,
            dates=self.dates[start:stop],
            **{name: arr[:, start:stop] for name, arr in self._daily().items()},
        )

    def sample_units(self, n: int, seed: int) -> Panel:
        """A seeded random sample of ``n`` units, kept in their original order."""
        if n <= 0 or n >= self.n_units:
            return self
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(self.n_units, size=n, replace=False))
        return self.take_units(idx)

    def _daily(self) -> dict[str, np.ndarray]:
        names = (
            "sales",
            "demand",
            "stockout_fraction",
            "discount",
            "promo",
            "holiday",
            "active",
            "in_stock_share",
        )
        out = {name: getattr(self, name) for name in names}
        if self.true_demand is not None:
            out["true_demand"] = self.true_demand
        return out
