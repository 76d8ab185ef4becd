"""Test helpers: a uvicorn server on a free loopback port, an SSE reader thread, and a
webhook receiver (http.server) that fails its first N calls."""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from jimu.runtime.server import serve_in_thread


def serve(app: Any) -> Any:
    """``app`` served in a thread (no lifespan): a context manager yielding the base URL."""
    return serve_in_thread(app, timeout=10, lifespan="off")


class SSEReader:
    """Reads an SSE stream in a thread; ``events`` is a queue of (id, event, data, t)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[str | None, str, Any, float]] = queue.Queue()
        self.connected = threading.Event()
        self.status: int | None = None
        self.ended = threading.Event()  # the server ended the stream (or refused it)
        self._stop = False
        self._thread = threading.Thread(target=self._run, args=(url, headers or {}), daemon=True)
        self._thread.start()
        self.connected.wait(10)

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read(url, headers)
        finally:
            self.ended.set()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=httpx.Timeout(30, read=60)) as client, client.stream("GET", url, headers=headers) as r:
            self.status = r.status_code
            self.connected.set()
            if r.status_code != 200:
                return
            eid, kind, data = None, "message", []
            for line in r.iter_lines():
                if self._stop:
                    return
                if line == "":
                    if data:
                        self.events.put((eid, kind, json.loads("\n".join(data)), time.perf_counter()))
                    eid, kind, data = None, "message", []
                elif line.startswith("id: "):
                    eid = line[4:]
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])

    def get(self, timeout: float = 5.0) -> tuple[str | None, str, Any, float]:
        return self.events.get(timeout=timeout)

    def none_within(self, seconds: float) -> bool:
        try:
            self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self._stop = True


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 500 to its first ``fail`` calls."""

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.calls.append({"headers": dict(self.headers), "body": body, "path": self.path})
                code = 500 if len(outer.calls) <= outer.fail else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"nope")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
