"""The templates' market screenshots: every picture a ``template.yaml`` lists ships with
the package as a real PNG, is served without login at
``GET /market/templates/{id}/screenshots/{file}`` (image/png, cached), and nothing else is
(path traversal, unlisted files, another template's pictures: 404)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jimu.templates_market.catalog import TEMPLATES, default_catalog

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 150 * 1024
TEMPLATE_IDS = ["general", "standard", "food", "catering", "discrete_manufacturing", "no_stock"]


def _listed() -> list[tuple[str, str]]:
    return [(t.id, s) for t in default_catalog().templates() for s in t.manifest.screenshots]


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a PNG (which must come first)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, "the first chunk is not IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from jimu.runtime.api.errors import exception_handlers
    from jimu.runtime.context import Jimu
    from jimu.templates_market.routes import routes as market_routes

    jimu = Jimu.open(f"sqlite:///{tmp_path_factory.mktemp('market_shots') / 'jimu.db'}")
    app = Starlette(routes=market_routes(), exception_handlers=exception_handlers)
    app.state.jimu = jimu
    with TestClient(app, follow_redirects=False) as c:  # no login
        yield c
    jimu.close()


def test_every_template_lists_screenshots() -> None:
    listed = _listed()
    assert {tid for tid, _ in listed} >= set(TEMPLATE_IDS)
    assert len({Path(s).name for _, s in listed}) == len(listed)  # file names are unique


@pytest.mark.parametrize(("template_id", "shot"), _listed())
def test_listed_screenshot_is_a_small_png(template_id: str, shot: str) -> None:
    path = TEMPLATES / template_id / shot
    assert path.is_file(), f"{path} is missing: python -m jimu.templates_market.screenshots {template_id}"
    data = path.read_bytes()
    width, height = png_size(data)
    assert (width, height) == (1280, 800)
    assert data.endswith(b"IEND\xaeB`\x82")  # complete
    assert len(data) <= MAX_BYTES, f"{path}: {len(data) // 1024} KB"


@pytest.mark.parametrize(("template_id", "shot"), _listed())
def test_listed_screenshot_is_served(client: Any, template_id: str, shot: str) -> None:
    r = client.get(f"/market/templates/{template_id}/screenshots/{Path(shot).name}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert "max-age" in r.headers["cache-control"]
    assert r.content == (TEMPLATES / template_id / shot).read_bytes()


@pytest.mark.parametrize("path", [
    "/market/templates/food/screenshots/../template.yaml",
    "/market/templates/food/screenshots/..%2Ftemplate.yaml",
    "/market/templates/food/screenshots/%2e%2e%2ftemplate.yaml",
    "/market/templates/food/screenshots/..%2F..%2Fstandard%2Fscreenshots%2Fstandard-orders.png",
    "/market/templates/food/screenshots/%2e%2e",
    "/market/templates/food/screenshots/..",
    "/market/templates/food/screenshots/template.yaml",
    "/market/templates/food/screenshots/README.md",
    "/market/templates/food/screenshots/standard-orders.png",  # another template's picture
    "/market/templates/food/screenshots/food-unlisted.png",
    "/market/templates/food/screenshots/food-batches.PNG",
    "/market/templates/nope/screenshots/food-batches.png",
    "/market/templates/..%2Ffood/screenshots/food-batches.png",
])
def test_traversal_and_unlisted_files_are_404(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code)
    assert not r.headers.get("content-type", "").startswith("image/")


def test_unlisted_file_present_on_disk_is_404(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file beside the listed ones (a copy of the food template here), but not in its
    template.yaml, is not served; the listed one next to it is."""
    import shutil

    from jimu.templates_market import pages
    from jimu.templates_market.catalog import Catalog

    shutil.copytree(TEMPLATES / "food", tmp_path / "food")
    folder = tmp_path / "food" / "screenshots"
    shutil.copy(folder / "food-batches.png", folder / "stray.png")
    (tmp_path / "food" / "secret.png").write_bytes((folder / "stray.png").read_bytes())
    catalog = Catalog([], [tmp_path])
    monkeypatch.setattr(pages, "catalog_for", lambda jimu: catalog)
    assert client.get("/market/templates/food/screenshots/food-batches.png").status_code == 200
    assert client.get("/market/templates/food/screenshots/stray.png").status_code == 404
    assert client.get("/market/templates/food/screenshots/secret.png").status_code == 404
    assert client.get("/market/templates/food/screenshots/..%2Fsecret.png").status_code == 404


def test_market_api_keeps_paths_and_adds_urls(client: Any) -> None:
    data = {t["id"]: t for t in client.get("/api/market/templates").json()["data"]}
    food = data["food"]
    assert food["screenshots"] == ["templates/food/screenshots/food-batches.png",
                                   "templates/food/screenshots/food-near-expiry.png"]
    assert food["screenshot_urls"] == ["/market/templates/food/screenshots/food-batches.png",
                                       "/market/templates/food/screenshots/food-near-expiry.png"]
    for tpl in data.values():
        assert len(tpl["screenshot_urls"]) == len(tpl["screenshots"])
        for url in tpl["screenshot_urls"]:
            assert client.get(url).status_code == 200
