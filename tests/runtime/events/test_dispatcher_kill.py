"""SIGKILL the dispatcher (a subprocess) mid-delivery: after a restart every event is
delivered at least once; the receiver dedupes on the event id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from jimu.core import clock
from jimu.runtime.events.tables import events, webhooks
from tests.runtime.events.helpers import Receiver

RUNNER = """
import sys
from datetime import timedelta
from jimu.runtime.context import Jimu
from jimu.runtime.events.dispatcher import run_once
j = Jimu.open(sys.argv[1])
while True:
    run_once(j, lease=timedelta(seconds=1))
"""


class SlowReceiver(Receiver):
    def __init__(self) -> None:
        super().__init__()
        handler = self.server.RequestHandlerClass
        original = handler.do_POST

        def slow(h):  # type: ignore[no-untyped-def]
            time.sleep(0.1)
            original(h)

        handler.do_POST = slow


def _start(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", RUNNER, url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_during_delivery_loses_nothing(make_db_url):
    from jimu.runtime.context import Jimu

    url = make_db_url("sqlite")
    jimu = Jimu.open(url)
    from tests.conftest import SHOP_SPEC  # noqa: PLC0415

    jimu.store.create_app("shop", SHOP_SPEC["label"])
    jimu.store.save_draft("shop", SHOP_SPEC, author="admin")
    jimu.store.publish("shop", author="admin")
    rx = SlowReceiver()
    with jimu.db.write() as c:
        c.execute(webhooks.insert().values(app="shop", name="rx", direction="out", url=rx.url, format="json",
                                           role="admin", kinds=[], backoff=0.05, max_attempts=20, timeout=5.0,
                                           active=True, created_at=clock.now()))
    for i in range(30):
        jimu.records.create("shop", "item", {"sku": f"K{i}", "name": f"n{i}"})
    with jimu.db.read() as c:
        expected = set(c.execute(sa.select(events.c.id)).scalars())
    proc = _start(url)
    try:
        deadline = time.time() + 60
        while len(rx.calls) < 5 and time.time() < deadline:
            time.sleep(0.01)
        assert len(rx.calls) >= 5, proc.stderr.read().decode() if proc.poll() is not None else "no deliveries"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len({json.loads(c["body"])["id"] for c in rx.calls}) < len(expected)  # killed mid-way
        proc = _start(url)
        deadline = time.time() + 90
        while time.time() < deadline:
            got = {json.loads(c["body"])["id"] for c in rx.calls}
            if got >= expected:
                break
            time.sleep(0.05)
        got = {json.loads(c["body"])["id"] for c in rx.calls}
        assert got == expected
        assert all(c["headers"]["X-Jimu-Event-Id"] == json.loads(c["body"])["id"] for c in rx.calls)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        rx.close()
        jimu.close()
