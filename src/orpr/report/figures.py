"""The report's figures as embedded PNGs (matplotlib's object API, Agg canvas, no pyplot state).

Each function draws one figure from arrays and returns it as a ``data:image/png;base64,…``
URI, so ``report.html`` needs no other file. Symbols: ``v`` inventory days, ``I_t`` end-of-day
on-hand (units), ``d_t`` latent demand (units), ``r₀`` the incumbent's in-stock rate.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

PALETTE = ("#1f5fa8", "#d9762b", "#2f9e5c", "#b8403a", "#7a55b0", "#8c6d46", "#c558a8", "#5f6b73")
"""Colours assigned to policies in the order they are evaluated."""
DPI = 100


def colours(names: Sequence[str]) -> dict[str, str]:
    """A fixed colour per policy name, by position."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(dict.fromkeys(names))}


def png_uri(fig: Figure) -> str:
    """The figure as a base64 PNG data URI (no metadata, so no software URL is embedded)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def frontier_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    evaluated: Mapping[str, tuple[float, float]],
    reference: float,
    palette: Mapping[str, str],
) -> str:
    """Holding cost against in-stock rate, one curve per family.

    Args:
        curves: per family, ``(in_stock (n,), holding (n,))`` in knob order.
        evaluated: per policy, its as-evaluated ``(in_stock, holding)`` point.
        reference: ``r₀``, drawn as a vertical line.
        palette: colour per policy.
    """
    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    for name, (x, y) in curves.items():
        ax.plot(100 * x, y, "o-", color=palette.get(name), label=name, ms=4, lw=1.5)
    for name, (x, y) in evaluated.items():
        ax.plot(100 * x, y, "*", color=palette.get(name), ms=15, mec="black", mew=0.6)
    ax.axvline(100 * reference, color="#444", ls="--", lw=1)
    ax.annotate(
        "incumbent's in-stock rate",
        (100 * reference, 1),
        xycoords=("data", "axes fraction"),
        xytext=(4, -12),
        textcoords="offset points",
        fontsize=8,
        color="#444",
    )
    ax.set_xlabel("in-stock rate (%)")
    ax.set_ylabel("holding cost over the held-out days")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.grid(alpha=0.3)
    ax.legend(title="★ as evaluated", fontsize=8, title_fontsize=8)
    return png_uri(fig)


def trace_figure(
    dates: np.ndarray,
    demand: np.ndarray,
    promo: np.ndarray,
    on_hand: Mapping[str, np.ndarray],
    titles: Sequence[str],
    palette: Mapping[str, str],
) -> str:
    """On-hand of a few units under each policy, with their demand, over the held-out days.

    Args:
        dates: the days, datetime64 ``(day,)``.
        demand: latent demand ``d_t`` of the sampled units ``(k, day)``.
        promo: promotion flag ``(k, day)``.
        on_hand: per policy, end-of-day on-hand ``I_t`` of the sampled units ``(k, day)``.
        titles: one title per sampled unit.
        palette: colour per policy.
    """
    k = demand.shape[0]
    fig = Figure(figsize=(10, 2.6 * k))
    x = np.arange(len(dates))
    for i in range(k):
        ax = fig.add_subplot(k, 1, i + 1)
        for j in np.flatnonzero(promo[i] > 0):
            ax.axvspan(j - 0.5, j + 0.5, color="#f3d9a4", lw=0)
        ax.bar(x, demand[i], color="#c9c9c9", width=0.8, label="demand")
        for name, arr in on_hand.items():
            ax.step(x, arr[i], where="mid", color=palette.get(name), lw=1.4, label=name)
        ax.set_title(titles[i], fontsize=9, loc="left")
        ax.set_ylabel("units")
        ticks = x[:: max(1, len(x) // 8)]
        ax.set_xticks(ticks, [str(dates[t]) for t in ticks], fontsize=7)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7, ncols=min(6, len(on_hand) + 1), loc="upper right")
    fig.tight_layout()
    return png_uri(fig)


def histogram_figure(
    samples: Mapping[str, np.ndarray], palette: Mapping[str, str], xlabel: str = "inventory days v"
) -> str:
    """Step histograms of decisions (or labels), one per series, shares of each series.

    Args:
        samples: per series, its values ``(n,)`` (days).
        palette: colour per series (grey for a series without one).
        xlabel: the axis label.
    """
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    values = [v for v in samples.values() if v.size]
    top = max((float(np.quantile(v, 0.995)) for v in values), default=1.0)
    edges = np.linspace(0.0, max(top, 1.0), 41)
    for name, v in samples.items():
        if v.size:
            weights = np.full(v.size, 1.0 / v.size)
            ax.hist(
                np.clip(v, 0, edges[-1]),
                bins=edges,
                weights=weights,
                histtype="step",
                lw=1.6,
                color=palette.get(name, "#555"),
                label=f"{name} (n = {v.size:,})",
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of decisions")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png_uri(fig)


def curves_figure(panels: Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray], str]]) -> str:
    """Training curves, one small panel per record series.

    Args:
        panels: per title, ``(x (n,), {series: y (n,)}, x label)``.
    """
    n = len(panels)
    cols = min(2, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(5 * cols, 3.2 * rows))
    for i, (title, (x, series, xlabel)) in enumerate(panels.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        for j, (name, y) in enumerate(series.items()):
            ax.plot(x, y, "o-", ms=3, lw=1.3, color=PALETTE[j % len(PALETTE)], label=name)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xlabel(xlabel, fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return png_uri(fig)


def censoring_figure(
    dates: np.ndarray, censored_share: np.ndarray, out_share: np.ndarray, holdout_start: int
) -> str:
    """Share of active units with some (and with all-day) stockout, per day.

    Args:
        dates: the date grid ``(day,)``.
        censored_share: share of active units with some out-of-stock time ``(day,)``.
        out_share: share out of stock all day ``(day,)``.
        holdout_start: index of the first held-out day (shaded from there).
    """
    fig = Figure(figsize=(9, 3))
    ax = fig.add_subplot()
    x = np.arange(len(dates))
    ax.axvspan(holdout_start - 0.5, len(dates) - 0.5, color="#e8eef7", lw=0, label="held-out days")
    ax.plot(x, 100 * censored_share, color="#b8403a", lw=1.3, label="some stockout")
    ax.plot(x, 100 * out_share, color="#5f6b73", lw=1.1, label="out all day")
    ticks = x[:: max(1, len(x) // 8)]
    ax.set_xticks(ticks, [str(dates[t]) for t in ticks], fontsize=7)
    ax.set_ylabel("% of active units")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png_uri(fig)
