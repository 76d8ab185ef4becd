"""``jimu demo TEMPLATE --no-serve`` end to end in a fresh folder, process start included,
with the 120 days of generated history (issue 22: under 10 s) against the same command
with ``--no-history`` in the same run (the demo start before the history existed). The
two alternate run by run, so a machine that slows down slows both. Prints one JSON line
per template and database: median wall seconds, and the median CPU seconds of the child
process (user + system), which other processes on the machine disturb less.

    python benchmarks/bench_demo.py [--runs 5] [--template standard ...] [--pg]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import drop_pg_schema, emit, fresh_pg_schema  # noqa: E402


def _run(template: str, history: bool, pg: bool) -> tuple[float, float]:
    """(wall s, child CPU s) of one ``jimu demo --no-serve`` in a new folder / schema."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIMU_")}
    schema = None
    if pg:
        got = fresh_pg_schema()
        assert got is not None, "--pg needs JIMU_TEST_PG_URL"
        env["JIMU_DATABASE_URL"], schema = got
    cmd = [sys.executable, "-m", "jimu", "demo", template, "--no-serve"] + ([] if history else ["--no-history"])
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(cmd, cwd=Path(tmp), env=env, check=True, capture_output=True, timeout=300)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if schema:
        drop_pg_schema(schema)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--template", action="append", default=None)
    ap.add_argument("--pg", action="store_true", help="PostgreSQL (JIMU_TEST_PG_URL) instead of SQLite")
    args = ap.parse_args()
    db = "PostgreSQL" if args.pg else "SQLite"
    for template in args.template or ["standard"]:
        _run(template, True, args.pg)  # warm-up: bytecode, page cache
        lived: list[tuple[float, float]] = []
        plain: list[tuple[float, float]] = []
        for _ in range(args.runs):
            lived.append(_run(template, True, args.pg))
            plain.append(_run(template, False, args.pg))
        wall, base = statistics.median(w for w, _ in lived), statistics.median(w for w, _ in plain)
        emit(f"jimu demo {template} --no-serve with 120 days of history ({db}), wall", wall, "s",
             "same command with --no-history, same run", base, runs=args.runs,
             cpu_s=round(statistics.median(c for _, c in lived), 3),
             baseline_cpu_s=round(statistics.median(c for _, c in plain), 3), target="< 10 s")


if __name__ == "__main__":
    main()
