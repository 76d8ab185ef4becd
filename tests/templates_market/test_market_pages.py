"""The market pages (``/market``): browse, install a template through the form, the
installed units of an app, the uninstall notice, admins only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def market_jimu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.runtime.screens.seed import build_standard

    jimu = build_standard(f"sqlite:///{tmp_path_factory.mktemp('market_pages') / 'jimu.db'}")
    yield jimu
    jimu.close()


@pytest.fixture(scope="module")
def market_app(market_jimu: Any) -> Any:
    from starlette.applications import Starlette

    from jimu.runtime.api import routes_auth
    from jimu.runtime.api.errors import exception_handlers
    from jimu.runtime.screens.routes import routes as screen_routes
    from jimu.templates_market.routes import routes as market_routes

    app = Starlette(routes=market_routes() + screen_routes() + routes_auth.routes(),
                    exception_handlers=exception_handlers)
    app.state.jimu = market_jimu
    return app


@pytest.fixture
def login(market_app: Any) -> Callable[..., Any]:
    from tests.runtime.screens.conftest import login_client

    def _login(user: str, lang: str = "zh") -> Any:
        return login_client(market_app, user, lang)

    return _login


def _csrf(client: Any) -> str:
    return str(client.cookies.get("jimu_csrf") or next(v for k, v in client.cookies.items() if "csrf" in k))


def test_market_lists_templates_and_cbus(login: Callable[..., Any]) -> None:
    admin = login("admin")
    r = admin.get("/market")
    assert r.status_code == 200, r.text[:500]
    html = r.text
    assert "模板市场" in html
    assert "新进销存 标准版" in html and "食品进销存" in html  # both templates, zh titles
    assert 'data-template="standard"' in html and 'data-template="food"' in html
    assert "batch_tracking" in html and "food_safety" in html  # units a template installs
    assert 'data-cbu="sales_order"' in html  # the unit table
    assert "screenshots/food-batches.png" in html
    # screenshots as thumbnails that open full size, alt text in the user's language
    imgs = re.findall(r'<a href="([^"]+)"[^>]*><img src="([^"]+)" alt="([^"]+)"', html)
    assert ("/market/templates/food/screenshots/food-batches.png",
            "/market/templates/food/screenshots/food-batches.png", "食品进销存 截图 1/2") in imgs
    assert {src for _, src, _ in imgs} >= {"/market/templates/standard/screenshots/standard-dashboard.png",
                                           "/market/templates/food/screenshots/food-near-expiry.png"}
    assert '/market/templates/food/install' in html
    en = login("admin", "en").get("/market").text
    assert "Template market" in en and "Food inventory" in en
    assert 'alt="Food inventory: screenshot 2 of 2"' in en
    # the pictures themselves need no login
    anon = login("admin")
    anon.cookies.clear()
    shot = anon.get("/market/templates/food/screenshots/food-batches.png")
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/png"


def test_install_form_installs_food_into_new_app(login: Callable[..., Any], market_jimu: Any) -> None:
    admin = login("admin")
    page = admin.get("/market/templates/food/install")
    assert page.status_code == 200
    html = page.text
    # every visible input has a label
    for input_id in re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html):
        assert f'for="{input_id}"' in html, input_id
    assert 'name="p_near_expiry_days"' in html and 'value="30"' in html and 'name="p_approvals"' in html
    r = admin.post("/market/templates/food/install",
                   data={"csrf_token": _csrf(admin), "app": "shop_food", "p_approvals": "true",
                         "p_near_expiry_days": "15"})
    assert r.status_code == 200, r.text[:1000]
    assert "安装完成" in r.text and "shop_food" in r.text and "batch_tracking@" in r.text
    assert market_jimu.store.exists("shop_food")
    assert market_jimu.apps.get("shop_food").spec.entity("stock_adjustment") is not None
    # htmx posts get the result fragment only
    frag = admin.post("/market/templates/food/install", headers={"HX-Request": "true"},
                      data={"csrf_token": _csrf(admin), "app": "shop_food"})
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="install-result"' in frag.text
    bad = admin.post("/market/templates/food/install", data={"csrf_token": _csrf(admin), "app": "Bad Name"})
    assert bad.status_code == 422 and "安装失败" in bad.text

    units = admin.get("/market/apps/shop_food")
    assert units.status_code == 200
    for cbu in ("item", "stock", "batch_tracking", "food_safety"):
        assert f'data-cbu="{cbu}"' in units.text
    assert "/market/apps/shop_food/cbus/food_safety/uninstall" in units.text

    up = admin.get("/market/apps/shop_food/cbus/food_safety/upgrade")
    assert up.status_code == 200 and "没有冲突" in up.text

    notice = admin.get("/market/apps/shop_food/cbus/food_safety/uninstall")
    assert notice.status_code == 200
    assert 'id="archive-notice"' in notice.text and "数据保留" in notice.text and "归档" in notice.text
    assert 'for="m-confirm"' in notice.text
    unconfirmed = admin.post("/market/apps/shop_food/cbus/food_safety/uninstall", data={"csrf_token": _csrf(admin)})
    assert unconfirmed.status_code == 422
    assert "food_safety" in {u["cbu"] for u in _units(market_jimu, "shop_food")}
    done = admin.post("/market/apps/shop_food/cbus/food_safety/uninstall",
                      data={"csrf_token": _csrf(admin), "confirm": "yes"})
    assert done.status_code == 200 and "已卸载" in done.text
    assert "food_safety" not in {u["cbu"] for u in _units(market_jimu, "shop_food")}


def _units(jimu: Any, app: str) -> list[dict[str, Any]]:
    from jimu.templates_market.lifecycle import installed

    return [u.as_dict() for u in installed(jimu, app)]


def test_non_admin_gets_403_page(login: Callable[..., Any]) -> None:
    sales = login("sales")
    for url in ("/market", "/market/templates/food/install", "/market/apps/standard"):
        r = sales.get(url)
        assert r.status_code == 403 and "<html" in r.text, url
    r = sales.post("/market/templates/food/install", data={"csrf_token": _csrf(sales), "app": "nope"})
    assert r.status_code == 403


def test_anonymous_goes_to_login(market_app: Any) -> None:
    from starlette.testclient import TestClient

    r = TestClient(market_app, follow_redirects=False).get("/market")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
