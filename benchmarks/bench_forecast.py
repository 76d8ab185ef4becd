"""Forecast figure (issue 22): the demand forecast of 5,000 items (26 weeks of daily demand
each: a weekday pattern, a trend, noise, a promotion week and slow movers), every item
backtested on three methods (naive, 4-week moving average, Holt-Winters) by rolling origin
and forecast 8 weeks ahead with the winner (:func:`jimu.runtime.intel.forecast.forecast_series`),
against the naive forecast alone over the same series in the same run (the cheapest
forecast there is: the cost of the backtest and the smoothing is the ratio).

Also printed: the pooled backtest WAPE of the chosen methods against the naive one's (the
accuracy bought with that time). Target: 5,000 items < 10 s.

    python benchmarks/bench_forecast.py [--items 5000] [--days 182] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import emit  # noqa: E402
from jimu.runtime.intel.forecast import forecast_series, weekly  # noqa: E402

PATTERN = (0.8, 0.9, 1.0, 1.0, 1.1, 1.6, 0.6)


def series(rng: random.Random, days: int) -> list[float]:
    base = rng.choice((0.3, 2.0, 8.0, 30.0, 120.0)) * rng.uniform(0.5, 1.5)
    growth = rng.uniform(-0.003, 0.01) * base
    promo = rng.randrange(days // 7) if rng.random() < 0.3 else -1
    out = []
    for t in range(days):
        mean = max(0.0, (base + growth * t) * PATTERN[t % 7]) * (2.0 if t // 7 == promo else 1.0)
        out.append(float(max(0, round(rng.gauss(mean, 0.25 * mean + 0.3)))))
    return out


def naive_only(daily: list[float], weeks: int) -> list[float]:
    hist = weekly(daily)
    return [hist[-1]] * weeks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--days", type=int, default=182)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(22)
    data = [series(rng, args.days) for _ in range(args.items)]
    runs, base_runs = [], []
    results = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        results = [forecast_series(d, 8) for d in data]
        runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for d in data:
            naive_only(d, 8)
        base_runs.append(time.perf_counter() - t0)
    err = sum(r.chosen.abs_error for r in results)
    act = sum(r.chosen.actual for r in results)
    n_err = sum(r.backtests["naive"].abs_error for r in results if "naive" in r.backtests)
    n_act = sum(r.backtests["naive"].actual for r in results if "naive" in r.backtests)
    methods = {m: sum(r.method == m for r in results) for m in ("naive", "moving_average", "holt_winters")}
    emit(f"forecast of {args.items} items ({args.days} days each, backtest + 8 weeks)", statistics.median(runs), "s",
         "naive forecast only (no backtest)", statistics.median(base_runs), target_s=10,
         meets=statistics.median(runs) < 10, methods=methods)
    emit("pooled backtest WAPE of the chosen methods", err / act, "fraction", "naive forecast's WAPE",
         n_err / n_act)


if __name__ == "__main__":
    main()
