"""System table of installed capability units (one row per app and CBU).

``contribution`` is the flat snapshot of what the unit put into the app at this version
and with these params: the *base* of the next three-way upgrade and the list of what an
uninstall removes. Uninstalled units keep their row (``status = "uninstalled"``) so a
reinstall knows the data is archived, not gone.
"""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.db import TZDateTime, system_metadata

__all__ = ["installed_cbus"]

installed_cbus = sa.Table(
    "jimu_installed_cbu",
    system_metadata,
    sa.Column("app", sa.String(63), sa.ForeignKey("jimu_app.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("cbu", sa.String(63), primary_key=True),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="installed"),
    sa.Column("template", sa.String(63)),
    sa.Column("contribution", sa.JSON, nullable=False),
    sa.Column("installed_at", TZDateTime, nullable=False),
    sa.Column("updated_at", TZDateTime, nullable=False),
)
