"""Take the market screenshots of the built-in templates (a developer tool; the server
never imports this module)::

    python -m jimu.templates_market.screenshots [TEMPLATE ...] [--out DIR] [--keep]

For each template: a fresh demo database in a temporary folder (as ``jimu demo TEMPLATE
--no-serve`` prepares it), served by uvicorn on a free port, signed in as ``admin`` in
headless chromium (Playwright; ``JIMU_CHROMIUM``, default ``/usr/bin/chromium``, with
fonts-noto-cjk for the Chinese text) at 1280×800, then every picture the template's
``template.yaml`` lists under ``screenshots`` is taken from the page its recipe below
names and written to ``templates/<id>/screenshots/``. A picture is palette-reduced with
Pillow when Pillow is importable (``pip install pillow``), so it stays well under
:data:`MAX_BYTES`; without Pillow the PNG is written as chromium made it and a warning
says so when it is larger.

A template whose manifest lists a picture this module has no recipe for (or the other
way round) is an error: the manifest is the contract the market serves."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jimu.templates_market.catalog import TEMPLATES, default_catalog

__all__ = ["RECIPES", "Shot", "MAX_BYTES", "VIEWPORT", "main"]

CHROMIUM = os.environ.get("JIMU_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
MAX_BYTES = 150 * 1024


@dataclass(frozen=True)
class Shot:
    """One picture: the page to open (``{app}`` is the template id; ``{id}`` the id of the
    first record of ``record`` = (entity, filter or None)), clicks on buttons named in
    ``click`` before the picture (each waits for the page it loads)."""

    file: str
    path: str
    record: tuple[str, str | None] | None = None
    click: tuple[str, ...] = field(default_factory=tuple)
    settle: float = 0.3  # seconds to let charts finish drawing


RECIPES: dict[str, list[Shot]] = {
    "general": [Shot("screenshots/general-orders.png", "/app/{app}/sales_order")],
    "standard": [Shot("screenshots/standard-orders.png", "/app/{app}/sales_order"),
                 Shot("screenshots/standard-dashboard.png", "/app/{app}/dashboard", settle=2.0)],
    "food": [Shot("screenshots/food-batches.png", "/app/{app}/batch?view=batch_list"),
             Shot("screenshots/food-near-expiry.png", "/app/{app}/batch?view=near_expiry_batches")],
    "catering": [Shot("screenshots/catering-dish-sales.png", "/app/{app}/dish_sale"),
                 Shot("screenshots/catering-requisitions.png", "/app/{app}/store_requisition")],
    "discrete_manufacturing": [
        Shot("screenshots/manufacturing-bom.png", "/app/{app}/bom/{id}", record=("bom", 'name == "城市通勤自行车 总装"')),
        Shot("screenshots/manufacturing-mrp.png", "/app/{app}/mrp_run/{id}", record=("mrp_run", None),
             click=("运算",)),
    ],
    "no_stock": [Shot("screenshots/no-stock-orders.png", "/app/{app}/sales_order")],
}


# The demo's orders are all drafts; these templates get their purchase orders received
# (stock to sell) and some sales orders moved along their workflow first, through the
# JSON API as the demo users, so that lists and charts show more than drafts.
ADVANCE_ORDERS = {"general", "standard", "no_stock"}
_PURCHASE_PATHS = [["submit", "approve", "receive"]]
_SALES_PATHS = [["submit", "approve", "ship", "complete"], ["submit", "approve", "ship"], ["submit", "approve"],
                ["submit"], ["submit", "approve", "ship", "complete"], ["submit", "approve"]]
_USERS = ("admin", "purchasing", "manager", "vp", "warehouse")


def advance(client: Any, tokens: dict[str, str], jimu: Any, template: str, entity: str, paths: list[list[str]],
            count: int) -> int:
    """Move up to ``count`` records of ``entity`` along ``paths`` in turn (a record whose
    first step the workflow refuses, e.g. for want of stock, stays as it is; a refused
    later step ends its path). A step is tried as each of :data:`_USERS` until one may
    (an approval step waits for its role). The number of records moved."""
    codes = {w["id"]: w.get("confirm_code") for w in jimu.records.list(template, "warehouse", limit=100).data}

    def step(rec: dict[str, Any], name: str) -> bool:
        inputs = {"warehouse_confirm_code": codes.get(rec.get("warehouse")) or "",
                  "logistics_no": f"SF{1300000000 + rec['id']}"} if name == "ship" else {}
        for user in _USERS:
            r = client.post(f"/api/apps/{template}/data/{entity}/{rec['id']}/transitions/{name}",
                            json={"inputs": inputs}, headers={"Authorization": f"Bearer {tokens[user]}"})
            if r.status_code < 300 and name == "approve" and r.json().get("state") == "pending_approval":
                continue  # a multi-step approval: the next approver
            if r.status_code != 403:
                return r.status_code < 300
        return False

    moved = 0
    for rec in jimu.records.list(template, entity, sort="id", limit=500).data:
        if moved >= count:
            break
        path = paths[moved % len(paths)]
        if step(rec, path[0]):
            moved += 1
            all(step(rec, name) for name in path[1:])
    return moved


def advance_orders(base: str, template: str, jimu: Any) -> str:
    import httpx

    with httpx.Client(base_url=base, timeout=30) as c:
        tokens = {u: c.post("/api/auth/token", json={"username": u, "password": u}).json().get("access_token")
                    for u in _USERS}
        po = advance(c, tokens, jimu, template, "purchase_order", _PURCHASE_PATHS, 500)
        so = advance(c, tokens, jimu, template, "sales_order", _SALES_PATHS, 18)
    return f"{po} purchase orders received, {so} sales orders moved along"


# --- the demo server --------------------------------------------------------------------

@contextmanager
def demo_server(template: str, folder: Path) -> Iterator[tuple[str, Any]]:
    """The demo of ``template`` in ``folder/jimu.db``, served in a thread: (base URL, Jimu)."""
    from jimu.cli.basics import prepare_demo
    from jimu.runtime.api.app import create_app
    from jimu.runtime.context import Jimu
    from jimu.runtime.server import serve_in_thread

    jimu = Jimu.open(f"sqlite:///{folder / 'jimu.db'}")
    prepare_demo(jimu, template)
    try:
        with serve_in_thread(create_app(jimu), timeout=30) as base:
            yield base, jimu
    finally:
        jimu.close()


# --- pictures -----------------------------------------------------------------------------

def optimize_png(data: bytes) -> bytes:
    """``data`` palette-reduced to at most 256 colours (Pillow), or as it is without Pillow."""
    try:
        from PIL import Image
    except ImportError:
        return data
    img = Image.open(io.BytesIO(data)).convert("RGB")
    best = data
    for colors in (256, 128, 64):
        out = io.BytesIO()
        img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, format="PNG", optimize=True)
        if len(out.getvalue()) < len(best):
            best = out.getvalue()
        if len(best) <= MAX_BYTES:
            break
    return best


def _login(browser: Any, base: str) -> Any:
    import re

    page = browser.new_page(viewport=VIEWPORT, locale="zh-CN", device_scale_factor=1)
    page.set_default_timeout(15000)
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("admin")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r".*/apps.*|.*/app/.*"))
    return page


def _url(shot: Shot, template: str, jimu: Any) -> str:
    record_id = ""
    if shot.record is not None:
        entity, expr = shot.record
        rows = jimu.records.list(template, entity, filter=expr, limit=1).data
        if not rows:
            raise SystemExit(f"{template}: no {entity} record for {shot.file} ({expr})")
        record_id = str(rows[0]["id"])
    return shot.path.format(app=template, id=record_id)


def take(page: Any, base: str, template: str, jimu: Any, shot: Shot) -> bytes:
    """The picture of ``shot`` (a PNG, optimized)."""
    page.goto(base + _url(shot, template, jimu))
    page.wait_for_load_state("networkidle")
    for name in shot.click:
        with page.expect_navigation():
            page.get_by_role("button", name=name, exact=True).first.click()
        page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
    time.sleep(shot.settle)
    return optimize_png(page.screenshot(type="png", full_page=False, animations="disabled", caret="hide"))


def expected(template: str) -> list[str]:
    """The pictures ``template.yaml`` of ``template`` lists."""
    return list(default_catalog().template(template).manifest.screenshots)


def check_recipes(templates: list[str]) -> None:
    for tpl in templates:
        have = [s.file for s in RECIPES.get(tpl, [])]
        if sorted(have) != sorted(expected(tpl)):
            raise SystemExit(f"{tpl}: template.yaml lists {expected(tpl)}, the recipes make {have}")


def _save(data: bytes, target: Path, log: Callable[[str], None]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    warn = "" if len(data) <= MAX_BYTES else f"  (over {MAX_BYTES // 1024} KB: pip install pillow)"
    log(f"{target}  {len(data) // 1024} KB{warn}")
    return target


def run(templates: list[str], out: Path, *, keep: bool = False, log: Callable[[str], None] = print) -> list[Path]:
    from playwright.sync_api import sync_playwright

    check_recipes(templates)
    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for tpl in templates:
                tmp = Path(tempfile.mkdtemp(prefix=f"jimu-shots-{tpl}-"))
                try:
                    with demo_server(tpl, tmp) as (base, jimu):
                        if tpl in ADVANCE_ORDERS:
                            log(f"{tpl}: {advance_orders(base, tpl, jimu)}")
                        page = _login(browser, base)
                        for shot in RECIPES[tpl]:
                            written.append(_save(take(page, base, tpl, jimu, shot), out / tpl / shot.file, log))
                        page.close()
                finally:
                    if keep:
                        log(f"{tpl}: demo database kept in {tmp}")
                    else:
                        shutil.rmtree(tmp, ignore_errors=True)
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jimu.templates_market.screenshots", description=__doc__.split("\n")[0])
    ap.add_argument("templates", nargs="*", help=f"template ids (default: all: {', '.join(RECIPES)})")
    ap.add_argument("--out", type=Path, default=TEMPLATES, help="folder of template folders (default: the package's)")
    ap.add_argument("--keep", action="store_true", help="keep the demo databases (their folders are printed)")
    args = ap.parse_args(argv)
    templates = args.templates or [t.id for t in default_catalog().templates()]
    unknown = [t for t in templates if t not in RECIPES]
    if unknown:
        ap.error(f"no recipe for {', '.join(unknown)} (known: {', '.join(RECIPES)})")
    if not Path(CHROMIUM).exists():
        ap.error(f"chromium not found at {CHROMIUM} (set JIMU_CHROMIUM)")
    run(templates, args.out, keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
