"""HTTP API under wrk: list-50 and create through ``jimu serve`` with a non-admin caller
(a row filter and a masked field on), against the peers' hand-written Starlette + SQLAlchemy
Core baseline measured in the same run.

The load comes from the shared harness (``../shared/peers``): its ``load.py`` seeds 10,000
rows over the API, then runs wrk (16 connections, 15 s per op) and reports rps, p50/p99 and
the CPU the server process (with its workers) used, so the figure that matters,
``rps_per_server_core``, is little moved by other load on a shared machine. wrk is a C
client: it is not the bottleneck (the old in-process httpx client saturated at ~200 req/s).

  python benchmarks/bench_api.py [--workers 1] [--pg] [--duration 15] [--seed 10000] [--repeat 1]
  python benchmarks/bench_api.py --all     # SQLite, PostgreSQL --workers 1 and --workers 2 (~6 min)

Needs ``apt-get install -y wrk`` and ``../shared/peers/baseline/setup.sh`` (the baseline's
venv, which also runs load.py). ``--pg`` serves Jimu on a fresh schema of
``JIMU_TEST_PG_URL``; the issue's yardstick stays the harness's baseline on SQLite, and the
baseline's own app is also run on PostgreSQL (``_peers_baseline_pg.py``), a second line per
op against it telling what PostgreSQL costs any Python server from what Jimu adds.
Prints one JSON line per op and run: ``{"figure", "value" (Jimu's rps per server core),
"baseline_value", "ratio", "rps", "baseline_rps", "p50_ms", "p99_ms", "baseline_p99_ms",
"p99_ratio", "cores", "machine_busy_cores", ...}``; with ``--all`` also one line per op for
PostgreSQL's scale-out (``value``: rps with ``--workers 2`` / rps with ``--workers 1``,
target 1.6; its baseline the hand-written baseline's own scale-out, each configuration's
baseline run with as many uvicorn workers as Jimu's; ``bound_at_workers_1_cost``: the
machine's cores over those busy with one worker, what a second can add at most at the same
cost per request). PostgreSQL's own CPU is not in Jimu's server cores (another process);
the baseline runs SQLite in process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_schema, emit, fresh_pg_schema  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The harness: $JIMU_PEERS, else the first shared/peers beside the checkout or above it.
PEERS = Path(os.environ.get("JIMU_PEERS") or next(
    (p / "shared" / "peers" for p in ROOT.parents if (p / "shared" / "peers" / "load.py").exists()),
    ROOT.parent / "shared" / "peers"))
PEERS_PY = Path("/tmp/peers/venv/bin/python")
APP, ENTITY = "bench", "item"
DATA = f"/api/apps/{APP}/data/{ENTITY}"
LIST = DATA + "?limit=50&sort=-created_at"  # newest first, as the baseline's list


def _field(name: str, type_: str, required: bool = False, unique: bool = False, default: Any = None,
           indexed: bool = False, **options: Any) -> dict[str, Any]:
    return {"name": name, "label": {"zh": name, "en": name}, "type": type_, "required": required,
            "default": default, "unique": unique, "indexed": indexed, "options": options}


# The peers' item (sku unique, name, qty and price decimal(18,4)) plus an owner the row
# filter reads and a cost the clerk sees rounded by a mask: the clerk sees only its own rows.
ITEM = {"name": ENTITY, "label": {"zh": "物料", "en": "Item"}, "fields": [
    _field("sku", "text", required=True, unique=True),
    _field("name", "text", required=True),
    _field("qty", "decimal", precision=18, scale=4),
    _field("price", "decimal", precision=18, scale=4),
    _field("owner", "text", default="$user", indexed=True),
    _field("cost", "decimal", default="1234.56", precision=18, scale=4),
]}
ROLE = {"name": "clerk", "label": {"zh": "文员", "en": "Clerk"}, "entities": {ENTITY: {
    "read": True, "create": True, "row_filter": "owner == $user",
    "fields": {"cost": {"mask": "ROUND(cost, 0)"}}}}}


def _call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _must(base: str, method: str, path: str, body: Any = None, token: str | None = None,
          ok: tuple[int, ...] = (200, 201)) -> Any:
    status, out = _call(base, method, path, body, token)
    if status not in ok:
        raise RuntimeError(f"{method} {path} -> {status} {json.dumps(out, ensure_ascii=False)[:400]}")
    return out


def prepare(base: str) -> str:
    """App, entity, role with a row filter and a mask, user ``clerk``; the clerk's token."""
    admin = _must(base, "POST", "/api/auth/token", {"username": "admin", "password": "admin"})["access_token"]
    _must(base, "POST", "/api/apps", {"name": APP, "label": {"zh": "压测", "en": "Bench"}}, admin, ok=(200, 201, 409))
    _must(base, "PUT", f"/api/apps/{APP}/meta/entities/{ENTITY}", ITEM, admin)
    _must(base, "PUT", f"/api/apps/{APP}/meta/roles/clerk", ROLE, admin)
    _must(base, "POST", f"/api/apps/{APP}/publish", {}, admin)
    _must(base, "POST", "/api/users", {"username": "clerk", "password": "clerk-pass", "roles": ["clerk"]}, admin)
    token: str = _must(base, "POST", "/api/auth/token", {"username": "clerk", "password": "clerk-pass"})["access_token"]
    # The filter and the mask are on: another user's row is invisible, the price is rounded.
    _must(base, "POST", DATA, {"sku": "admin-own", "name": "hidden", "qty": "1", "price": "9.99"}, admin)
    mine = _must(base, "POST", DATA, {"sku": "clerk-own", "name": "seen", "qty": "1", "price": "9.60"}, token)
    assert mine["cost"] == "1235" and mine["owner"] == "clerk", mine
    rows = _must(base, "GET", LIST, token=token)["data"]
    assert [r["sku"] for r in rows] == ["clerk-own"], rows
    return token


def _wait(base: str, path: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + path, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    raise RuntimeError(f"{base} did not come up")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _load(kind: str, base: str, pid: int, a: argparse.Namespace, extra: list[str]) -> list[dict[str, Any]]:
    """The harness's load on ``base``: its JSON lines, each op's with ``machine_busy_cores``
    added (how many of the machine's cores were busy during the op, everything counted:
    the server, PostgreSQL, wrk; from ``/proc/stat`` sampled while the load runs, between
    the line that ended the op before and the op's own line, 0.3 s off each end)."""
    cmd = [str(PEERS_PY), str(PEERS / "load.py"), "--kind", kind, "--url", base, "--pid", str(pid),
           "--duration", str(a.duration), "--seed", str(a.seed), *extra]
    samples: list[tuple[float, int, int]] = []
    done = threading.Event()

    def sample() -> None:
        while True:
            samples.append((time.monotonic(), *_machine_ticks()))
            if done.wait(0.2):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines: list[dict[str, Any]] = []
    marks: list[float] = []
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                lines.append(json.loads(line))
                marks.append(time.monotonic())
        proc.wait()
        done.set()
        sampler.join()
        if proc.returncode:
            err.seek(0)
            raise RuntimeError(f"load.py exited with {proc.returncode}: {err.read()[-2000:]}")
    for i in range(1, len(lines)):
        if lines[i].get("op") in ("list-50", "create"):
            lines[i]["machine_busy_cores"] = _busy_cores(samples, marks[i - 1] + 0.3, marks[i] - 0.3)
    return lines


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of the machine so far: busy as the harness counts it (user,
    nice, system, irq, softirq), all with idle, I/O wait and steal."""
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v[:3]) + sum(v[5:7]), sum(v)


def _busy_cores(samples: list[tuple[float, int, int]], start: float, end: float) -> float | None:
    """Busy cores between the first sample at or after ``start`` and the last at or before
    ``end`` (None: fewer than two there)."""
    inside = [s for s in samples if start <= s[0] <= end]
    if len(inside) < 2 or inside[-1][2] == inside[0][2]:
        return None
    (_t0, busy0, all0), (_t1, busy1, all1) = inside[0], inside[-1]
    return round((busy1 - busy0) / (all1 - all0) * (os.cpu_count() or 1), 2)


@contextlib.contextmanager
def baseline_server(folder: Path, workers: int = 1, pg_url: str | None = None) -> Iterator[tuple[str, int, list[str]]]:
    """The peers' baseline serving a fresh SQLite file: (base URL, PID, load.py's extra args).
    ``workers`` > 1: the same app under ``uvicorn --workers N`` (the harness's ``serve.sh``
    starts one), as ``jimu serve --workers N`` is measured against it. ``pg_url``: the same
    app on that PostgreSQL database instead (``_peers_baseline_pg.py``, run by this Python,
    which has psycopg)."""
    from jimu.runtime.server import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    name = f"baseline-{'pg-' if pg_url else ''}{workers}"
    log = open(folder / f"{name}.log", "wb")  # noqa: SIM115 - the server's life
    env = {**os.environ, "PEER_DB": str(folder / f"{name}.db")}
    serve = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
             "--log-level", "warning"]
    if pg_url:
        env.update(PEER_PG_URL=pg_url, PEERS_BASELINE=str(PEERS / "baseline"))
        cmd = [sys.executable, "-m", "uvicorn", "_peers_baseline_pg:app", "--app-dir", str(ROOT / "benchmarks"), *serve]
    elif workers == 1:
        cmd = [str(PEERS / "baseline" / "serve.sh"), str(port)]
    else:
        cmd = [str(PEERS_PY.parent / "uvicorn"), "app:app", *serve]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=PEERS / "baseline", env=env)
    try:
        _wait(base, "/items?limit=1", proc)
        yield base, proc.pid, []
    finally:
        _stop(proc)


@contextlib.contextmanager
def jimu_server(folder: Path, url: str, workers: int) -> Iterator[tuple[str, int, list[str]]]:
    """``jimu serve`` on ``url`` with the bench app prepared: (base URL, PID, load.py's
    extra args: paths and the clerk's token). On the way out, every row the clerk lists
    is its own (the row filter held under load)."""
    from jimu.runtime.server import free_port

    env = {**os.environ, "PYTHONPATH": str(ROOT), "JIMU_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "jimu", "init"], cwd=folder, env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(folder / "jimu.log", "wb")  # noqa: SIM115 - the server's life
    proc = subprocess.Popen([sys.executable, "-m", "jimu", "serve", "--port", str(port), "--workers", str(workers)],
                            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(base, "/api/health", proc)
        token = prepare(base)
        yield base, proc.pid, [f"--list-path={LIST}", f"--create-path={DATA}", f"--token={token}"]
        rows = _must(base, "GET", LIST, token=token)["data"]
        assert len(rows) == 50 and all(r["owner"] == "clerk" for r in rows), rows[:2]
    finally:
        _stop(proc)


def run_sides(folder: Path, a: argparse.Namespace, url: str, workers: int,
              pg_base: str | None = None) -> list[list[dict[str, Any]]]:
    """The load's op lines of the baseline, of Jimu and, given ``pg_base`` (a PostgreSQL
    URL), of the baseline on PostgreSQL. One round: each server in turn. ``--rounds K``:
    all servers up, the load going round them K times (the first round seeds), so a
    machine that speeds up or slows down over the minutes of a run weighs on all alike;
    the lines are then pooled (:func:`_pooled`)."""
    # (load.py's kind, the server's context) per side, in the order the lines are answered.
    sides: list[tuple[str, Callable[[], contextlib.AbstractContextManager[tuple[str, int, list[str]]]]]] = [
        ("baseline", lambda: baseline_server(folder, workers)), ("jimu", lambda: jimu_server(folder, url, workers))]
    if pg_base:
        sides.append(("baseline", lambda: baseline_server(folder, workers, pg_base)))
    if a.rounds <= 1:
        out = []
        for kind, serve in sides:
            with serve() as (base, pid, extra):
                out.append(_load(kind, base, pid, a, extra))
        return out
    lines: list[list[dict[str, Any]]] = [[] for _ in sides]
    with contextlib.ExitStack() as stack:
        up = [(kind, stack.enter_context(serve())) for kind, serve in sides]
        for i in range(a.rounds):
            seeded = argparse.Namespace(**{**vars(a), "seed": a.seed if i == 0 else 0})
            for k, (kind, (base, pid, extra)) in enumerate(up):
                lines[k] += _load(kind, base, pid, seeded, extra)
    return [_pooled(x) for x in lines]


def _pooled(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per op from several rounds: requests and server CPU-seconds summed (rps per
    server core = all requests / all CPU), p50 and p99 the median of the rounds'."""
    out = []
    for op in ("list-50", "create"):
        mine = [r for r in lines if r.get("op") == op]
        secs = [r["n"] / r["rps"] for r in mine]
        cpu = sum(r["cores"]["server"] * s for r, s in zip(mine, secs, strict=True))
        n = sum(r["n"] for r in mine)
        out.append({"op": op, "n": n, "rps": round(n / sum(secs), 1), "rps_per_server_core": round(n / cpu),
                    "p50_ms": statistics.median(r["p50_ms"] for r in mine),
                    "p99_ms": statistics.median(r["p99_ms"] for r in mine),
                    "errors": sum(r["errors"] for r in mine),
                    "cores": {k: round(statistics.fmean(r["cores"][k] or 0 for r in mine), 2)
                              for k in ("server", "steal", "others")},
                    "rounds_rps_per_server_core": [r["rps_per_server_core"] for r in mine],
                    "machine_busy_cores": _mean_or_none([r.get("machine_busy_cores") for r in mine])})
    return out


def _mean_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 2) if known else None


def _configs(a: argparse.Namespace) -> list[tuple[str, int]]:
    """[(backend, workers)] to run: ``--all`` is SQLite with one worker, PostgreSQL with
    one and with two; otherwise the one of ``--pg`` / ``--workers``."""
    if a.all:
        return [("sqlite", 1), ("postgresql", 1), ("postgresql", 2)]
    return [("postgresql" if a.pg else "sqlite", a.workers)]


def run_config(backend: str, workers: int, a: argparse.Namespace) -> dict[str, list[dict[str, Any] | None]]:
    """The baseline, then Jimu (``backend``, ``workers``), then on PostgreSQL the baseline's
    app on PostgreSQL too; emits a line per op against the harness's baseline (the issue's
    yardstick) and, on PostgreSQL, one against the baseline on PostgreSQL. Answers {op:
    [jimu's line, the baseline's line, the PostgreSQL baseline's line or None]}."""
    folder = Path(tempfile.mkdtemp(prefix="jimu-bench-api-"))
    schemas = []
    pg_base = None
    if backend == "postgresql":
        made, made_base = fresh_pg_schema(), fresh_pg_schema()
        if made is None or made_base is None:
            sys.exit("PostgreSQL runs need JIMU_TEST_PG_URL")
        (url, schema), (pg_base, base_schema) = made, made_base
        schemas = [schema, base_schema]
    else:
        url = f"sqlite:///{folder / 'jimu.db'}"
    try:
        sides = [{r["op"]: r for r in lines} for lines in run_sides(folder, a, url, workers, pg_base)]
    finally:
        for schema in schemas:
            drop_pg_schema(schema)
    out: dict[str, list[dict[str, Any] | None]] = {}
    for op in ("list-50", "create"):
        j, b = sides[1][op], sides[0][op]
        pb = sides[2][op] if len(sides) > 2 else None
        out[op] = [j, b, pb]
        _emit_against(f"api {op} req/s per server core (clerk: row filter + mask)", j, b,
                      "peers baseline (Starlette + Core, SQLite)", a, backend=backend, workers=workers)
        if pb is not None:
            _emit_against(f"api {op} req/s per server core against the baseline on PostgreSQL (clerk: row filter + mask)",
                          j, pb, "peers baseline's app on PostgreSQL (Starlette + Core, psycopg)", a,
                          backend=backend, workers=workers)
    return out


def _emit_against(figure: str, j: dict[str, Any], b: dict[str, Any], label: str, a: argparse.Namespace,
                  **extra: Any) -> None:
    """One line: Jimu's op ``j`` against the baseline's ``b`` of the same run."""
    emit(figure, j["rps_per_server_core"], "req/s/core", label, b["rps_per_server_core"], **extra,
         rps=j["rps"], baseline_rps=b["rps"], rps_ratio=round(j["rps"] / b["rps"], 3), p50_ms=j["p50_ms"],
         p99_ms=j["p99_ms"], baseline_p50_ms=b["p50_ms"], baseline_p99_ms=b["p99_ms"],
         p99_ratio=round(j["p99_ms"] / b["p99_ms"], 2), errors=j["errors"], cores=j["cores"],
         baseline_cores=b["cores"], machine_busy_cores=j.get("machine_busy_cores"),
         baseline_machine_busy_cores=b.get("machine_busy_cores"), target_ratio=0.7, target_p99_ratio=3.0,
         rounds=a.rounds,
         **({"rounds_ratio": [round(x / y, 3) for x, y in zip(j["rounds_rps_per_server_core"],
                                                             b["rounds_rps_per_server_core"], strict=True)]}
            if a.rounds > 1 else {}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pg", action="store_true", help="Jimu on PostgreSQL (JIMU_TEST_PG_URL)")
    ap.add_argument("--all", action="store_true",
                    help="SQLite --workers 1, PostgreSQL --workers 1 and 2 (each after its own baseline run), "
                         "then the PostgreSQL scale-out line (rps of 2 workers / 1)")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--seed", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1,
                    help="both servers up, the load alternating between them this many times (pooled)")
    a = ap.parse_args()
    if not shutil.which("wrk") or not PEERS_PY.exists():
        sys.exit("bench_api.py needs wrk (apt-get install -y wrk) and ../shared/peers/baseline/setup.sh")
    for _ in range(a.repeat):
        runs = {cfg: run_config(*cfg, a) for cfg in _configs(a)}
        one, two = runs.get(("postgresql", 1)), runs.get(("postgresql", 2))
        if one is None or two is None:
            continue
        for op in ("list-50", "create"):
            (j1, b1, pb1), (j2, b2, pb2) = one[op], two[op]
            emit(f"api {op} PostgreSQL scale-out: req/s of serve --workers 2 / --workers 1", j2["rps"] / j1["rps"],
                 "x", "the peers baseline's own scale-out on this machine (uvicorn --workers 2 / 1, SQLite)",
                 b2["rps"] / b1["rps"], target=1.6, rps_workers_1=j1["rps"], rps_workers_2=j2["rps"],
                 cores_workers_1=j1["cores"], cores_workers_2=j2["cores"],
                 baseline_rps_workers=[b1["rps"], b2["rps"]], baseline_cores_workers=[b1["cores"], b2["cores"]],
                 machine_busy_cores_workers=[j1.get("machine_busy_cores"), j2.get("machine_busy_cores")],
                 # What two workers can add at most at one worker's cost per request: the
                 # machine's cores over those busy with one worker (its server, the
                 # database, wrk).
                 bound_at_workers_1_cost=(round((os.cpu_count() or 1) / j1["machine_busy_cores"], 2)
                                          if j1.get("machine_busy_cores") else None),
                 **({"pg_baseline_scale_out": round(pb2["rps"] / pb1["rps"], 4),
                     "pg_baseline_rps_workers": [pb1["rps"], pb2["rps"]]} if pb1 and pb2 else {}))


if __name__ == "__main__":
    main()
