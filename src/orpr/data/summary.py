"""What a panel holds: its shape, dates, zero sales, censoring, promotions, and — on synthetic
data, where the true demand is known — how far the latent-demand estimate is from it.

Shares are over active unit-days. On censored active unit-days (``stockout_fraction > 0``),
with ``d`` the true demand and ``x`` a demand estimate, the error is
``WAPE = Σ |x − d| / Σ d``; it is given for the panel's latent demand and for sales taken as
demand, so the gain of uncensoring reads off directly.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from orpr.data.panel import Panel


class DataSummary(NamedTuple):
    """Figures of one panel, all plain JSON types.

    Attributes:
        source: where the panel came from (file path or ``"synthetic"``).
        units: number of units.
        days: number of days on the date grid.
        first_date: first date, YYYY-MM-DD.
        last_date: last date, YYYY-MM-DD.
        unit_days: active unit-days.
        zero_sales_share: share of active unit-days with no sales.
        censored_share: share of active unit-days with some out-of-stock time.
        fully_out_share: share of active unit-days out of stock all day.
        promo_share: share of active unit-days on promotion.
        latent_wape: WAPE of the latent demand on censored days, or ``None`` if the true
            demand is unknown (or zero there).
        sales_wape: WAPE of sales taken as demand on the same days, or ``None`` likewise.
    """

    source: str
    units: int
    days: int
    first_date: str
    last_date: str
    unit_days: int
    zero_sales_share: float
    censored_share: float
    fully_out_share: float
    promo_share: float
    latent_wape: float | None = None
    sales_wape: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The figures as one JSON object (``orpr data check --json``)."""
        return self._asdict()


def summarize(panel: Panel) -> DataSummary:
    """The panel's figures (see ``DataSummary``)."""
    active = panel.active
    latent_wape = sales_wape = None
    if panel.true_demand is not None:
        days = active & panel.censored
        latent_wape = wape(panel.demand[days], panel.true_demand[days])
        sales_wape = wape(panel.sales[days], panel.true_demand[days])
    return DataSummary(
        source=panel.source,
        units=int(panel.n_units),
        days=int(panel.n_days),
        first_date=str(panel.dates[0]) if panel.n_days else "",
        last_date=str(panel.dates[-1]) if panel.n_days else "",
        unit_days=int(active.sum()),
        zero_sales_share=share(panel.sales == 0, active),
        censored_share=share(panel.censored, active),
        fully_out_share=share(panel.stockout_fraction >= 1, active),
        promo_share=share(panel.promo == 1, active),
        latent_wape=latent_wape,
        sales_wape=sales_wape,
    )


def share(flag: np.ndarray, active: np.ndarray) -> float:
    """Share of ``active`` unit-days where ``flag`` holds; both bool ``(unit, day)``."""
    n = int(active.sum())
    return float((flag & active).sum() / n) if n else 0.0


def wape(estimate: np.ndarray, truth: np.ndarray) -> float | None:
    """Weighted absolute percentage error ``Σ |x − d| / Σ d``; ``None`` if ``Σ d = 0``."""
    total = float(np.sum(truth))
    if total <= 0:
        return None
    return float(np.sum(np.abs(estimate - truth)) / total)
