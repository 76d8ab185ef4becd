"""Designer figures: the designer page load and a field-drop round trip (PUT of one field
through the meta API, as the palette drop does), server time p50/p99, against a plain GET
of the meta JSON in the same run. Prints one JSON line per figure."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.testing import form_login

N = 200


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _time(fn: Callable[[int], Any], n: int = N) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    jimu = Jimu.open(f"sqlite:///{tmp / 'bench.db'}")
    jimu.users.create("admin", "admin", ["admin"])
    jimu.store.create_app("bench", {"zh": "基准", "en": "Bench"})
    fields = [{"name": f"f{i}", "type": "text", "label": f"字段{i}"} for i in range(30)]
    jimu.store.put_element("bench", "entity", "visit", {"label": "客户回访", "fields": fields})
    jimu.store.publish("bench")
    client = TestClient(create_app(jimu))
    token = client.post("/api/auth/token", json={"username": "admin", "password": "admin"}).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    form_login(client, "admin", path="/designer/login")
    csrf = {"X-CSRF-Token": client.cookies.get("jimu_csrf") or ""}

    def ok(r: Any) -> None:
        assert r.status_code < 300, r.text

    meta = _time(lambda i: ok(client.get("/api/apps/bench/meta", headers=h)))
    page = _time(lambda i: ok(client.get("/designer/bench")))
    drop = _time(lambda i: ok(client.put(f"/api/apps/bench/meta/entities/visit/fields/d{i}", headers=csrf,
                                         json={"type": "text", "label": {"zh": f"新字段{i}", "en": ""}})), n=100)
    base50, base99 = statistics.median(meta), _pct(meta, 99)
    for figure, samples in (("designer_page_load", page), ("designer_field_drop", drop)):
        for stat, value, base in (("p50", statistics.median(samples), base50), ("p99", _pct(samples, 99), base99)):
            print(json.dumps({"figure": f"{figure}_{stat}", "value": round(value, 3), "unit": "ms",
                              "baseline": f"GET /api/apps/{{app}}/meta {stat}", "baseline_value": round(base, 3),
                              "ratio": round(value / base, 3)}))
    jimu.close()


if __name__ == "__main__":
    main()
