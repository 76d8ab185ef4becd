"""Demand forecasting without a model download (DESIGN 16, Intelligence): plain Python
floats on one item's daily demand, so 5,000 items take seconds (benchmarks/bench_forecast.py).

Methods, each forecasting weekly totals:

- ``naive``: every future week = the last week (on daily data: the same weekday last week);
- ``moving_average``: the mean of the last 4 weeks;
- ``holt_winters``: additive exponential smoothing of the *daily* series with a damped
  trend and a 7-day season (level α = 0.2, trend β = 0.05 damped by φ = 0.98 a day,
  season γ = 0.2; initial level and season from the first two weeks), per week.

The method is chosen by a rolling-origin backtest: from every week boundary after the
first ``MIN_TRAIN_WEEKS`` weeks, each method forecasts the next ``HORIZON_WEEKS`` weeks
from the data up to that origin only; WAPE = Σ|actual − forecast| / Σ actual over all
those points, MAPE the mean of |error| / actual over the points with demand. The lowest
WAPE wins; a tie goes to the simpler method (naive, then moving average). Forecasts are
never negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["METHODS", "MIN_TRAIN_WEEKS", "HORIZON_WEEKS", "Backtest", "Forecast", "forecast_series",
           "holt_winters_path", "weekly"]

METHODS = ("naive", "moving_average", "holt_winters")
MIN_TRAIN_WEEKS = 4
HORIZON_WEEKS = 4
MA_WEEKS = 4
SEASON = 7
ALPHA, BETA, GAMMA, PHI = 0.2, 0.05, 0.2, 0.98


@dataclass
class Backtest:
    """Errors of one method over the rolling origins."""

    abs_error: float = 0.0
    actual: float = 0.0
    ape_sum: float = 0.0
    ape_n: int = 0
    points: int = 0

    @property
    def wape(self) -> float | None:
        if self.points == 0:
            return None
        return self.abs_error / self.actual if self.actual > 0 else (0.0 if self.abs_error == 0 else None)

    @property
    def mape(self) -> float | None:
        return self.ape_sum / self.ape_n if self.ape_n else None

    def add(self, actual: Sequence[float], predicted: Sequence[float]) -> None:
        """Score one origin's forecasts against what happened."""
        abs_error, total, ape, n = 0.0, 0.0, 0.0, 0
        for a, f in zip(actual, predicted, strict=True):
            err = a - f if a > f else f - a
            abs_error += err
            total += a
            if a > 0:
                ape += err / a
                n += 1
        self.abs_error += abs_error
        self.actual += total
        self.ape_sum += ape
        self.ape_n += n
        self.points += len(actual)


@dataclass
class Forecast:
    """The chosen method, its weekly forecast and every method's backtest."""

    method: str
    forecast: list[float]
    history: list[float]
    backtests: dict[str, Backtest] = field(default_factory=dict)

    @property
    def chosen(self) -> Backtest:
        return self.backtests.get(self.method) or Backtest()


def weekly(daily: Sequence[float]) -> list[float]:
    """Weekly totals of a daily series whose length is a multiple of 7 (the first days
    of a partial leading week are dropped)."""
    start = len(daily) % SEASON
    return [sum(daily[i:i + SEASON]) for i in range(start, len(daily), SEASON)]


def _naive(weeks: Sequence[float], h: int) -> list[float]:
    return [weeks[-1]] * h if weeks else [0.0] * h


def _moving_average(weeks: Sequence[float], h: int) -> list[float]:
    tail = weeks[-MA_WEEKS:]
    return [sum(tail) / len(tail)] * h if tail else [0.0] * h


def holt_winters_path(daily: Sequence[float], origins: dict[int, int]) -> dict[int, list[float]]:
    """Run the smoothing over ``daily`` once; at every day index in ``origins`` (the number
    of days seen -> how many weeks ahead) record the weekly forecasts: a week holds every
    weekday once, so its total is 7 × level + trend × Σ damping + Σ season (never below 0)."""
    out: dict[int, list[float]] = {}
    n = len(daily)
    if n < 2 * SEASON:
        return out
    first = sum(daily[:SEASON]) / SEASON
    second = sum(daily[SEASON:2 * SEASON]) / SEASON
    level = first
    trend = (second - first) / SEASON
    season = [daily[i] - first for i in range(SEASON)]
    a, b, g, phi = ALPHA, BETA, GAMMA, PHI
    weeks = max(origins.values(), default=0)
    damp_week = []  # Σ φ^1..φ^k over the days k of each week ahead
    acc, p = 0.0, 1.0
    for _w in range(weeks):
        total = 0.0
        for _d in range(SEASON):
            p *= phi
            acc += p
            total += acc
        damp_week.append(total)
    for t in range(SEASON, n):
        y = daily[t]
        i = t % SEASON
        s = season[i]
        prev = level
        level = a * (y - s) + (1 - a) * (prev + phi * trend)
        trend = b * (level - prev) + (1 - b) * phi * trend
        season[i] = g * (y - level) + (1 - g) * s
        ahead = origins.get(t + 1)
        if ahead:
            base = SEASON * level + sum(season)
            path = []
            for w in range(ahead):
                v = base + damp_week[w] * trend
                path.append(v if v > 0 else 0.0)
            out[t + 1] = path
    return out


def forecast_series(daily: Sequence[float], weeks_ahead: int = 8, backtest_weeks: int | None = None) -> Forecast:
    """Backtest the methods on ``daily`` (oldest first, length a multiple of 7 counted from
    the end) and forecast ``weeks_ahead`` weeks with the winner; ``backtest_weeks`` scores
    only the origins of the last that many weeks (the BRI's rolling 3 months)."""
    series = [float(x) for x in daily[len(daily) % SEASON:]]
    hist = weekly(series)
    n = len(hist)
    tests = {m: Backtest() for m in METHODS}
    origins_w = list(range(max(MIN_TRAIN_WEEKS, n - backtest_weeks if backtest_weeks else 0), n))
    wanted = {w * SEASON: min(HORIZON_WEEKS, n - w) for w in origins_w}
    wanted[n * SEASON] = weeks_ahead
    hw = holt_winters_path(series, wanted)
    for w in origins_w:
        h = min(HORIZON_WEEKS, n - w)
        actual = hist[w:w + h]
        past = hist[:w]
        preds = {"naive": _naive(past, h), "moving_average": _moving_average(past, h)}
        if w * SEASON in hw:
            preds["holt_winters"] = hw[w * SEASON]
        for m, p in preds.items():
            tests[m].add(actual, p)
    scored = [(t.wape, i, m) for i, (m, t) in enumerate(tests.items()) if t.wape is not None]
    method = min(scored)[2] if scored else ("moving_average" if n else "naive")
    if method == "holt_winters":
        fc = hw[n * SEASON]
    elif method == "moving_average":
        fc = _moving_average(hist, weeks_ahead)
    else:
        fc = _naive(hist, weeks_ahead)
    return Forecast(method, fc, hist, {m: t for m, t in tests.items() if t.points})
