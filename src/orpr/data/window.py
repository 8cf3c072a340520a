"""The days static parameters are fitted on: every day before the held-out period.

Every static parameter fitted from the data — hourly profiles (FreshRetailNet, synthetic), the
latent-demand cell factors, variability and start-up levels, the price behind a
price-derived discount — is fitted on the days before the held-out period, so no value on a
training day depends on a held-out day.
"""

from __future__ import annotations

import datetime as dt


def training_days(n_days: int, holdout_days: int) -> int:
    """Days before the held-out period: ``n_days − holdout_days``.

    A panel no longer than the held-out period has no training period (and nothing can be
    evaluated on it: ``evaluate`` refuses it); its parameters are then fitted on all
    ``n_days`` days, so ``orpr data check`` still describes a short file.
    """
    return n_days - holdout_days if n_days > holdout_days else n_days


def cut_date(span: tuple[dt.date, dt.date] | None, holdout_days: int) -> dt.date | None:
    """The first held-out date of a grid from ``span = (first, last)``: ``last − holdout + 1``.

    ``None`` (fit on every day, as ``training_days``) when the grid is no longer than the
    held-out period or the span is unknown.
    """
    if span is None:
        return None
    first, last = span
    n_days = (last - first).days + 1
    return first + dt.timedelta(days=training_days(n_days, holdout_days)) if n_days > 0 else None
