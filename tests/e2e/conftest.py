"""Browser tests: a demo database (``jimu demo --no-serve`` in a temp dir, plus a little
seeded stock), served by uvicorn in a thread, driven by Playwright on Debian's chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("JIMU_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
SHOTS = Path(__file__).parent / "screenshots"
ROOT = Path(__file__).resolve().parents[2]
_SERVED: dict[str, Any] = {}  # the Jimu context the server fixture serves


def _asgi(jimu: Any) -> Any:
    from jimu.runtime.api.app import create_app

    return create_app(jimu)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from jimu.runtime.server import serve_in_thread

    work = tmp_path_factory.mktemp("e2e")
    jimu_bin = shutil.which("jimu", path=str(Path(sys.executable).parent)) or "jimu"
    env = {**os.environ, "JIMU_DATABASE_URL": f"sqlite:///{work / 'jimu.db'}"}
    subprocess.run([jimu_bin, "demo", "--no-serve"], cwd=work, env=env, check=True, capture_output=True, timeout=120)
    from jimu.runtime.context import Jimu
    from tests.runtime.screens.seed import seed

    jimu = Jimu.open(env["JIMU_DATABASE_URL"])
    seed(jimu)
    _SERVED["jimu"] = jimu
    with serve_in_thread(_asgi(jimu), timeout=20) as base:
        yield base
    jimu.close()


@pytest.fixture(scope="session")
def served_jimu(server: str) -> Any:
    """The Jimu context behind ``server`` (same process): for a test that must reach
    below the HTTP API (publish a test app, drop the live streams, move the clock)."""
    return _SERVED["jimu"]


# Reports every Content-Security-Policy violation of a page (the browser blocks the
# script or style and fires ``securitypolicyviolation``) to the console, where the
# watcher below collects it. Playwright's init scripts are not subject to the page's CSP.
_CSP_PROBE = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
                ' at ' + e.sourceFile + ':' + e.lineNumber + ' (' + (e.sample || '') + ')');
}, true);
"""
CSP_VIOLATIONS: list[str] = []


def watch_csp(target: Any) -> Any:
    """Record on ``CSP_VIOLATIONS`` every CSP violation of the pages of ``target`` (a
    browser context or a page): the probe above, plus Chromium's own console message."""
    target.add_init_script(_CSP_PROBE)

    def on_console(msg: Any) -> None:
        text = msg.text
        if "CSP violation" in text or "Content Security Policy" in text:
            CSP_VIOLATIONS.append(text)

    pages = [target] if hasattr(target, "goto") else []
    if not pages:
        target.on("page", lambda pg: pg.on("console", on_console))
    for pg in pages:
        pg.on("console", on_console)
    return target


class _CspWatchingBrowser:
    """The Playwright browser with every page and context it opens watched by
    :func:`watch_csp`, so every browser test fails on a CSP violation (the proof that
    nothing inline was left behind when the policy forbade it)."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_page(self, **kw: Any) -> Any:
        return watch_csp(self._browser.new_page(**kw))

    def new_context(self, **kw: Any) -> Any:
        return watch_csp(self._browser.new_context(**kw))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield _CspWatchingBrowser(b)
        b.close()


@pytest.fixture(autouse=True)
def no_csp_violations() -> Iterator[None]:
    """Every browser test fails when a page broke the Content-Security-Policy."""
    CSP_VIOLATIONS.clear()
    yield
    found, CSP_VIOLATIONS[:] = list(CSP_VIOLATIONS), []
    assert not found, "Content-Security-Policy violations:\n" + "\n".join(found)


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


TABLET = {"width": 1180, "height": 820}


def login_page(browser: Any, server: str, user: str, locale: str = "zh-CN") -> Any:
    """A new page of ``browser`` signed in as ``user`` (password = user name) through the
    login form, on the tablet viewport the screens are designed for."""
    import re

    page = browser.new_page(viewport=TABLET, locale=locale)
    page.set_default_timeout(10000)
    page.goto(f"{server}/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(user)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r".*/app/standard/.*|.*/apps.*"))
    return page


def api(server: str, method: str, path: str, *, user: str = "admin", body: Any = None,
        headers: dict[str, str] | None = None) -> Any:
    """Call the JSON API as ``user`` (another session than any browser page): the decoded
    body, or the (status, problem) pair on an error status."""
    import json
    import urllib.error
    import urllib.request

    def call(m: str, p: str, b: Any, h: dict[str, str]) -> Any:
        data = None if b is None else json.dumps(b).encode()
        req = urllib.request.Request(server + p, data=data, method=m,
                                     headers={"Content-Type": "application/json", **h})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    token = call("POST", "/api/auth/token", {"username": user, "password": user}, {})["access_token"]
    return call(method, path, body, {"Authorization": f"Bearer {token}", **(headers or {})})
