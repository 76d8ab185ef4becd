"""Reading and writing the installed-CBU rows of an app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.templates_market.tables import installed_cbus

__all__ = ["InstalledCbu", "installed_units", "save_unit"]


@dataclass
class InstalledCbu:
    app: str
    cbu: str
    version: str
    params: dict[str, Any]
    status: str
    template: str | None
    contribution: dict[str, Any] = field(default_factory=dict)
    installed_at: Any = None
    updated_at: Any = None

    @property
    def ref(self) -> str:
        return f"{self.cbu}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {"app": self.app, "cbu": self.cbu, "version": self.version, "params": self.params,
                "status": self.status, "template": self.template,
                "installed_at": self.installed_at.isoformat() if self.installed_at else None,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "elements": len(self.contribution)}


def installed_units(conn: Connection, app: str, *, include_uninstalled: bool = False) -> dict[str, InstalledCbu]:
    """The app's units by name (installed ones; uninstalled too when asked)."""
    stmt = sa.select(installed_cbus).where(installed_cbus.c.app == app)
    if not include_uninstalled:
        stmt = stmt.where(installed_cbus.c.status == "installed")
    out = {}
    for r in conn.execute(stmt.order_by(installed_cbus.c.installed_at)).mappings():
        out[r["cbu"]] = InstalledCbu(r["app"], r["cbu"], r["version"], dict(r["params"] or {}), r["status"],
                                     r["template"], dict(r["contribution"] or {}), r["installed_at"], r["updated_at"])
    return out


def save_unit(conn: Connection, app: str, cbu: str, version: str, params: dict[str, Any],
              contribution: dict[str, Any], *, status: str = "installed", template: str | None = None) -> None:
    """Insert or replace the row of ``cbu`` in ``app``."""
    at = now()
    exists = conn.execute(sa.select(installed_cbus.c.installed_at).where(
        installed_cbus.c.app == app, installed_cbus.c.cbu == cbu)).first()
    values = {"version": version, "params": params, "status": status, "contribution": contribution, "updated_at": at}
    if template is not None:
        values["template"] = template
    if exists:
        conn.execute(installed_cbus.update().where(installed_cbus.c.app == app, installed_cbus.c.cbu == cbu)
                     .values(**values))
    else:
        conn.execute(installed_cbus.insert().values(app=app, cbu=cbu, installed_at=at, template=template,
                                                    **{k: v for k, v in values.items() if k != "template"}))
