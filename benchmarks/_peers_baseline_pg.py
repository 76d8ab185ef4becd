"""The peers' hand-written baseline (``shared/peers/baseline/app.py``: Starlette + SQLAlchemy
Core) served on PostgreSQL, for ``bench_api.py --pg``: ``uvicorn _peers_baseline_pg:app``
with ``PEER_PG_URL`` (a SQLAlchemy URL, psycopg) and ``PEERS_BASELINE`` (the folder of
``app.py``).

The harness's baseline is SQLite in process: measured against it, a PostgreSQL server is
also charged for talking to its database (the driver, the socket, a wake-up per round
trip), which the baseline never pays. This runs the very same handlers, table and JSON
on PostgreSQL, so the two costs can be told apart. The source is the harness's own: the
two lines that tie it to SQLite (the file URL, the ``PRAGMA`` hook) are replaced, and each
replacement insists the line is still there, so a changed harness fails here loudly
rather than measuring something else."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_SQLITE_ENGINE = 'engine = create_engine(f"sqlite:///{DB}")'
_PRAGMA_HOOK = '@event.listens_for(engine, "connect")\ndef _pragmas(conn, _):'


def _source(folder: Path) -> str:
    text = (folder / "app.py").read_text(encoding="utf-8")
    for line in (_SQLITE_ENGINE, _PRAGMA_HOOK):
        if line not in text:
            raise RuntimeError(f"the peers baseline changed: {line.splitlines()[0]!r} is gone from {folder / 'app.py'}")
    text = text.replace(_SQLITE_ENGINE, 'engine = create_engine(os.environ["PEER_PG_URL"])')
    # The hook is kept as a plain function nobody registers (SQLite's pragmas mean nothing here).
    return text.replace(_PRAGMA_HOOK, "def _pragmas(conn, _):")


def _load() -> Any:
    folder = Path(os.environ["PEERS_BASELINE"])
    scope: dict[str, Any] = {"__name__": "peers_baseline_pg", "__file__": str(folder / "app.py")}
    exec(compile(_source(folder), str(folder / "app.py"), "exec"), scope)  # noqa: S102 - the harness's own source
    return scope["app"]


app = _load()
