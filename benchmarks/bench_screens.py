"""Server time to render screens vs the same data as JSON, in one run.

Figures (JSON lines): list of 50 rows (``/app/standard/item``) vs ``/api/apps/standard/data/item?limit=50``,
and a form with 30 fields (``/app/bench/wide/{id}/edit``) vs ``GET /api/apps/bench/data/wide/{id}``;
p50 and p99 over N requests through the ASGI app in-process (no network)."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the shared test seed lives in tests/runtime/screens

N = 200


def _wide_app(jimu: Any) -> int:
    fields = [{"name": f"f{i:02d}", "type": t, "label": {"zh": f"字段{i}", "en": f"Field {i}"}}
              for i, t in enumerate(["text", "integer", "decimal", "money", "date", "boolean"] * 5)]
    spec = {"name": "bench", "entities": [{"name": "wide", "fields": fields}],
            "roles": [{"name": "admin", "all_entities": {"create": True, "read": True, "update": True,
                                                         "delete": True, "export": True}}]}
    jimu.store.create_app("bench", {"zh": "基准", "en": "Bench"})
    jimu.store.save_draft("bench", spec, author="admin")
    jimu.store.publish("bench", author="admin")
    values = {"text": "文本", "integer": 7, "decimal": "1.5", "money": "9.99", "date": "2026-01-02", "boolean": True}
    rec = jimu.records.create("bench", "wide", {f["name"]: values[f["type"]] for f in fields})
    return int(rec["id"])


def _time(client: Any, url: str, headers: dict[str, str] | None = None) -> list[float]:
    out = []
    for _ in range(N):
        t = time.perf_counter()
        r = client.get(url, headers=headers or {})
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return sorted(out)


def _pct(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    from starlette.testclient import TestClient

    from jimu.testing import form_login
    from tests.runtime.screens.conftest import make_app
    from tests.runtime.screens.seed import build_standard

    tmp = tempfile.mkdtemp()
    jimu = build_standard(f"sqlite:///{tmp}/bench.db")
    wide_id = _wide_app(jimu)
    app = make_app(jimu)
    client = TestClient(app)
    form_login(client, "admin")
    token = TestClient(app).post("/api/auth/token", json={"username": "admin", "password": "admin"}).json()["access_token"]
    api = TestClient(app)
    bearer = {"Authorization": f"Bearer {token}"}
    cases = [
        ("screens.list_50_rows", "/app/standard/item?sort=sku", "/api/apps/standard/data/item?limit=50&sort=sku"),
        ("screens.form_30_fields", f"/app/bench/wide/{wide_id}/edit", f"/api/apps/bench/data/wide/{wide_id}"),
    ]
    for name, screen_url, json_url in cases:
        _time(client, screen_url)  # warm caches
        _time(api, json_url, bearer)
        html = _time(client, screen_url)
        data = _time(api, json_url, bearer)
        for p in (50, 99):
            value, base = _pct(html, p), _pct(data, p)
            print(json.dumps({"figure": f"{name}.p{p}", "value": round(value, 3), "unit": "ms",
                              "baseline": "same data as JSON (API)", "baseline_value": round(base, 3),
                              "ratio": round(value / base, 2)}))
    print(json.dumps({"figure": "screens.list_50_rows.mean", "value": round(statistics.mean(html), 3), "unit": "ms",
                      "baseline": "n", "baseline_value": N, "ratio": None}), file=sys.stderr)
    jimu.close()


if __name__ == "__main__":
    main()
