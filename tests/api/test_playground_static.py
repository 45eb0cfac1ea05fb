"""The playground's static files: served without a key, with a strict CSP, nothing external."""

from __future__ import annotations

import re

from photofix.api.playground import STATIC_DIR
from tests.conftest import LiveApp


def test_index_is_html_with_a_strict_policy_and_no_key(live: LiveApp) -> None:
    response = live.client.get("/")  # no X-API-KEY: the page loads, only its API calls need one
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data: blob:" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/static/app.js">' in response.text


def test_modules_and_styles_are_served_with_their_types(live: LiveApp) -> None:
    app = live.client.get("/static/app.js")
    assert app.status_code == 200
    assert app.headers["content-type"].startswith("text/javascript")
    assert "content-security-policy" in app.headers
    # Every module app.js imports is there too (a missing one breaks the page silently).
    imports = re.findall(r'from "\./([\w.-]+\.js)"', app.text)
    assert imports
    for name in imports:
        module = live.client.get(f"/static/{name}")
        assert module.status_code == 200, name
        assert module.headers["content-type"].startswith("text/javascript")
    css = live.client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_only_the_static_folder_is_reachable(live: LiveApp) -> None:
    for path in (
        "/static/missing.js",
        "/static/..%2Fplayground.py",
        "/static/%2E%2E%2Froutes.py",
        "/static/index.py",
    ):
        response = live.client.get(path)
        assert response.status_code == 404, path
        assert response.json()["status"] == 404


def test_the_page_reaches_no_other_host() -> None:
    # Resources, imports and requests name no scheme://host: the CSP would block them anyway,
    # and this keeps a CDN from creeping in. (Placeholder text is not a resource.)
    external = re.compile(r"""(src|href|import|fetch\(|url\()\s*=?\s*["']?\s*(https?:)?//""")
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not external.search(text), path.name
