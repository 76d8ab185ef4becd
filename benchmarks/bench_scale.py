"""Data that has lived for years (issue 24): the standard demo with N sales orders of 3
lines each (default 1,000,000), bulk-loaded with Core executemany (COPY on PostgreSQL),
not through the API. Figures (JSON lines, baseline from the same run):

- ``scale.load``: rows/s of the bulk load (no baseline).
- ``scale.rollup_build``: building the dashboards' rollups from the loaded tables, and
  ``jimu rollup verify`` (full scan vs rollup) on them.
- ``scale.dashboard``: ``GET /app/standard/dashboard`` (admin, whole page) p50 with the
  rollups; baseline: the same page with every chart computed by the full-scan queries
  (the code path before rollups, forced in the same process). Target < 300 ms.
- ``scale.dashboard_orders``: the spec dashboard's charts and orders by state, without the
  page around them and the built-in stock charts: rollups vs the same by full scan.
- ``scale.list.first|deep|filtered|sorted|sorted_header``: list pages of the generated
  screen ``/app/standard/sales_order`` p50: the first page, a page deep in the table
  (cursor at the middle), a filtered page (``state == "shipped"``), a page sorted by
  ``-order_date`` once a published view sorts by it (the index comes with that publish;
  baseline: the same page before, without the index) and one sorted by a column header
  that is offered (``customer``: a link, indexed). Target < 50 ms each; baseline: the
  same screen over the 3-row item table (what a list page costs whatever the data).
- ``scale.create``: creating one sales order through the record service, p50, with the
  rollups maintained in its transaction; baseline: the same with the rollup listener
  removed.

``--orders N`` for a quick run; ``--backend sqlite|postgresql`` to run one (PostgreSQL
needs ``JIMU_TEST_PG_URL``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import backends, drop_pg_schema, emit, pg_url  # noqa: E402

STATES = (["completed"] * 60 + ["shipped"] * 10 + ["approved"] * 10 + ["draft"] * 8 + ["pending_approval"] * 5
          + ["cancelled"] * 5 + ["rejected"] * 2)
CHUNK = 20_000


def _p50(fn: Any, n: int) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def _bulk(conn: Any, table: sa.Table, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL; one ``executemany`` of positional tuples on SQLite (values
    already in the column's storage form)."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({", ".join(cols)}) FROM STDIN') as cp:
            for r in rows:
                cp.write_row(r)
    else:
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})',
                             rows)


O_COLS = ["id", "version", "created_at", "updated_at", "created_by", "updated_by", "number", "customer", "warehouse",
          "order_date", "channel", "payment_status", "amount", "state"]
L_COLS = ["id", "version", "created_at", "updated_at", "created_by", "updated_by", "_parent_id", "_idx", "item", "qty",
          "price", "amount"]


def load(jimu: Any, n_orders: int, rnd: random.Random) -> tuple[float, int]:
    """Bulk-load ``n_orders`` sales orders with 3 lines each (and 2,000 customers);
    returns (seconds, rows)."""
    from jimu.core.clock import now, today

    rt = jimu.apps.get("standard")
    jimu.records.bulk_insert("standard", "customer", [{"code": f"BC-{i:05d}", "name": f"客户 {i:05d}", "city": "上海"}
                                                      for i in range(2000)])
    customers = [r[0] for r in _ids(jimu, rt, "customer")]
    warehouses = [r[0] for r in _ids(jimu, rt, "warehouse")]
    items = [r[0] for r in _ids(jimu, rt, "item")]
    orders, lines = rt.tables("sales_order"), rt.tables("sales_order_line")
    pg = jimu.db.engine.dialect.name == "postgresql"
    with jimu.db.read() as c:
        first = int(c.execute(sa.select(sa.func.coalesce(sa.func.max(orders.c.id), 0))).scalar()) + 1
        first_line = int(c.execute(sa.select(sa.func.coalesce(sa.func.max(lines.c.id), 0))).scalar()) + 1
    at = now() if pg else orders.c.created_at.type.process_bind_param(now(), jimu.db.engine.dialect)
    day0 = today()
    days = [day0 - timedelta(days=d) for d in range(1095)]
    if not pg:
        days = [d.isoformat() for d in days]  # type: ignore[misc]

    def num(d: Decimal) -> Any:
        return d if pg else format(d, "f")

    prices = [Decimal(p) for p in ("12.80", "9.90", "69.00", "3.50", "128.00")]
    qtys = [Decimal(q) for q in range(1, 6)]
    t0 = time.perf_counter()
    rows = 0
    lid = first_line
    for start in range(0, n_orders, CHUNK):
        o_rows, l_rows = [], []
        for i in range(start, min(n_orders, start + CHUNK)):
            oid = first + i
            total = Decimal(0)
            for k in range(3):
                qty, price = rnd.choice(qtys), rnd.choice(prices)
                amount = qty * price
                total += amount
                l_rows.append((lid, 1, at, at, "bench", "bench", oid, k, rnd.choice(items), num(qty), num(price),
                               num(amount)))
                lid += 1
            o_rows.append((oid, 1, at, at, "bench", "bench", f"SO-B{oid:09d}", rnd.choice(customers),
                           rnd.choice(warehouses), days[i % 1095], rnd.choice(("offline", "online", "wechat")), "paid",
                           num(total), rnd.choice(STATES)))
        with jimu.db.write() as c:
            _bulk(c, orders, O_COLS, o_rows)
            _bulk(c, lines, L_COLS, l_rows)
        rows += len(o_rows) + len(l_rows)
    with jimu.db.write() as c:
        if pg:
            for t in (orders, lines):
                c.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), (SELECT max(id) FROM \"{t.name}\"))")
    with jimu.db.engine.connect() as c:  # planner statistics, as a live database has them
        if pg:
            c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        else:
            c.exec_driver_sql("ANALYZE")
            c.commit()
    return time.perf_counter() - t0, rows


def _ids(jimu: Any, rt: Any, entity: str) -> list[Any]:
    t = rt.tables(entity)
    with jimu.db.read() as c:
        return list(c.execute(sa.select(t.c.id)))


def _sort_view(jimu: Any) -> None:
    """Publish a list view of sales orders sorted by order date (newest first): the
    publish indexes the sort field."""
    spec = jimu.store.draft("standard") if hasattr(jimu.store, "draft") else jimu.apps.get("standard").spec
    view = {"name": "orders_by_date", "entity": "sales_order", "label": {"zh": "按日期", "en": "By date"},
            "columns": ["number", "customer", "amount", "order_date"], "sort": ["-order_date"]}
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["views"] = [*data.get("views", []), view]
    jimu.store.save_draft("standard", data, author="admin")
    jimu.store.publish("standard", author="admin")


def run(name: str, url: str, n_orders: int, repeat: int, stage: str = "all") -> None:
    """``stage``: ``all`` (load, then measure), ``load`` (load and build the rollups, keep
    the database, measure nothing) or ``measure`` (measure a database ``load`` kept)."""
    from starlette.testclient import TestClient

    from jimu.platform.actor import Actor
    from jimu.runtime.access import AccessPolicy
    from jimu.runtime.records.cursor import encode_cursor
    from jimu.runtime.rollups import listener as rollup_listener
    from jimu.runtime.rollups import rebuild, verify
    from jimu.runtime.screens import dash_builtin, dash_spec
    from jimu.testing import form_login
    from tests.runtime.screens.conftest import make_app
    from tests.runtime.screens.seed import build_standard

    if stage == "measure":
        from jimu.runtime.context import Jimu

        jimu = Jimu.open(url)
        rt = jimu.apps.get("standard")
        build = None
    else:
        jimu = build_standard(url)
        seconds, rows = load(jimu, n_orders, random.Random(24))
        emit(f"scale.load.{name}", rows / seconds, "rows/s", orders=n_orders, rows=rows, seconds=round(seconds, 1))
        rt = jimu.apps.get("standard")
        t = time.perf_counter()
        with jimu.db.write() as c:
            rebuild(c, rt)
        build = time.perf_counter() - t
    if stage == "load":
        emit(f"scale.rollup_build.{name}", build * 1000, "ms", orders=n_orders, kept=url)
        jimu.close()
        return
    t = time.perf_counter()
    with jimu.db.read() as c:
        problems = verify(c, rt)
    emit(f"scale.rollup_build.{name}" if build is not None else f"scale.rollup_verify.{name}",
         (build if build is not None else time.perf_counter() - t) * 1000, "ms",
         "jimu rollup verify (full scan of every rollup)", (time.perf_counter() - t) * 1000, orders=n_orders,
         differences=len(problems))
    assert not problems

    client = TestClient(make_app(jimu), follow_redirects=False)
    r = form_login(client, "admin")
    assert r.status_code == 303, (r.status_code, r.text[:300])

    def page(path: str) -> str:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.text

    fast_html = page("/app/standard/dashboard")
    fast = _p50(lambda: page("/app/standard/dashboard"), repeat)
    none = lambda *a, **k: None  # noqa: E731
    saved = dash_spec.grouped_rows, dash_builtin.grouped_rows
    dash_spec.grouped_rows = dash_builtin.grouped_rows = none  # type: ignore[assignment]
    try:
        t = time.perf_counter()
        scan_html = page("/app/standard/dashboard")
        slow = time.perf_counter() - t > 2  # one more run is enough for a figure in seconds
        scan = _p50(lambda: page("/app/standard/dashboard"), 1 if slow else max(3, repeat // 3))
    finally:
        dash_spec.grouped_rows, dash_builtin.grouped_rows = saved  # type: ignore[assignment]
    emit(f"scale.dashboard.{name}", fast, "ms", "same page, charts by full scan (before rollups)", scan,
         orders=n_orders, same_figures=fast_html == scan_html, target_ms=300)
    # the spec dashboard's charts (its ledger table included) and orders by state, without
    # the built-in stock charts and the page around them
    policy = AccessPolicy.for_actor(jimu, "standard", Actor("admin", ("admin",)))

    class _Screen:
        def __init__(self) -> None:
            self.policy, self.jimu, self.extra = policy, jimu, {}

        def label(self, label: Any, default: str) -> str:
            return str(getattr(label, "en", None) or default)

    def figures() -> Any:
        charts = dash_spec.spec_dashboard(policy, rt.spec.dashboards[0], "en")
        return charts, dash_builtin.orders_by_state(_Screen())  # type: ignore[arg-type]

    got = figures()
    part = _p50(figures, repeat)
    dash_spec.grouped_rows = dash_builtin.grouped_rows = none  # type: ignore[assignment]
    try:
        t = time.perf_counter()
        want = figures()
        slow = time.perf_counter() - t > 2
        part_scan = _p50(figures, 1 if slow else max(3, repeat // 3))
    finally:
        dash_spec.grouped_rows, dash_builtin.grouped_rows = saved  # type: ignore[assignment]
    emit(f"scale.dashboard_orders.{name}", part, "ms", "the same figures by full scan", part_scan, orders=n_orders,
         same_figures=got == want)

    orders = rt.tables("sales_order")
    with jimu.db.read() as c:
        mid = int(c.execute(sa.select(sa.func.max(orders.c.id))).scalar()) - n_orders // 2
    base = "/app/standard/sales_order"
    t = time.perf_counter()
    page(base + "?sort=-order_date")
    slow = time.perf_counter() - t > 2
    sorted_before = _p50(lambda: page(base + "?sort=-order_date"), 1 if slow else max(3, repeat // 3))
    _sort_view(jimu)
    cases = {"first": base, "deep": f"{base}?cursor={encode_cursor(mid, mid)}",
             "filtered": base + "?filter=" + "state%20%3D%3D%20%22shipped%22",
             "sorted": base + "?sort=-order_date", "sorted_header": base + "?sort=customer"}
    page("/app/standard/item")
    small = _p50(lambda: page("/app/standard/item"), repeat)  # the same screen over a 3-row table
    for case, path in cases.items():
        page(path)
        value = _p50(lambda p=path: page(p), repeat)
        if case == "sorted":
            emit(f"scale.list.{case}.{name}", value, "ms", "same page before the view's publish (no index)",
                 sorted_before, orders=n_orders, target_ms=50, small_table_ms=round(small, 2))
        else:
            emit(f"scale.list.{case}.{name}", value, "ms", "the same list screen over the 3-row item table", small,
                 orders=n_orders, target_ms=50)

    cust = _ids(jimu, rt, "customer")[0][0]
    wh = _ids(jimu, rt, "warehouse")[0][0]
    item = _ids(jimu, rt, "item")[0][0]

    def create() -> None:
        jimu.records.create("standard", "sales_order", {"customer": cust, "warehouse": wh,
                                                        "lines": [{"item": item, "qty": "1", "price": "5"}]})

    create()
    with_rollups = _p50(create, repeat * 3)
    jimu.records.listeners.remove(rollup_listener.LISTENER)
    try:
        without = _p50(create, repeat * 3)
    finally:
        jimu.records.listeners.append(rollup_listener.LISTENER)
    with jimu.db.write() as c:  # the creates without the listener: put the rollups right again
        rebuild(c, jimu.apps.get("standard"))
    emit(f"scale.create.{name}", with_rollups, "ms", "same create without rollup maintenance", without)
    jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default=None)
    ap.add_argument("--stage", choices=["all", "load", "measure"], default="all",
                    help="load: load and keep the database (SQLite file, PostgreSQL schema named after --orders); "
                         "measure: measure the kept database once (it is dropped afterwards; the sorted-view "
                         "case publishes a view, so a kept database is measured once)")
    args = ap.parse_args()
    if args.stage != "all":
        for name, url, schema in _kept(args.orders, args.stage == "load"):
            if args.backend and name != args.backend:
                continue
            run(name, url, args.orders, args.repeat, args.stage)
            if args.stage == "measure":
                _drop_kept(url, schema)
        return
    for name, url, schema in backends():
        if args.backend and name != args.backend:
            if schema:
                drop_pg_schema(schema)
            continue
        try:
            run(name, url, args.orders, args.repeat)
        finally:
            if schema:
                drop_pg_schema(schema)


def _kept(orders: int, fresh: bool) -> list[tuple[str, str, str | None]]:
    """[(name, url, pg schema)] of the databases ``--stage load`` keeps for ``--stage measure``
    (created empty when ``fresh``)."""
    path = Path(tempfile.gettempdir()) / f"jimu-scale-{orders}.db"
    if fresh:
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
    out: list[tuple[str, str, str | None]] = [("sqlite", f"sqlite:///{path}", None)]
    base = pg_url()
    if base:
        schema = f"jimu_scale_{orders}"
        if fresh:
            drop_pg_schema(schema)
            engine = sa.create_engine(base)
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            engine.dispose()
        sep = "&" if "?" in base else "?"
        out.append(("postgresql", f"{base}{sep}options=-csearch_path%3D{schema}", schema))
    return out


def _drop_kept(url: str, schema: str | None) -> None:
    if schema:
        drop_pg_schema(schema)
    else:
        for p in Path(url.removeprefix("sqlite:///")).parent.glob(Path(url).name + "*"):
            p.unlink()


if __name__ == "__main__":
    main()
