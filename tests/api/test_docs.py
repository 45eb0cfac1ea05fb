"""The API docs: served whole by this app (offline), and a schema that tells the truth."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from photofix.tasks.model import State
from tests.conftest import LiveApp

TASKS = "/api/tasks/visual/correction"


class _References(HTMLParser):
    """Every src / href of a page (scripts, styles, icons, links)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [
            value for name, value in attrs if name in ("src", "href", "spec-url") and value
        ]


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


def test_docs_pages_load_everything_from_this_server(live: LiveApp) -> None:
    for page in ("/docs", "/redoc"):
        response = live.client.get(page)
        assert response.status_code == 200, page
        assert response.headers["content-type"].startswith("text/html")
        # The browser itself refuses anything from another host.
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self';" in policy
        urls = _references(response.text)
        assert any(url.endswith(".js") for url in urls), (page, urls)
        assert "googleapis" not in response.text and "cdn." not in response.text
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), (page, url)
            asset = live.client.get(url)
            assert asset.status_code == 200, (page, url)
            if url.endswith(".css"):  # nor do the styles reach out (fonts, images)
                for target in re.findall(r"url\(\s*['\"]?([^'\")]+)", asset.text):
                    assert target.startswith(("data:", "/", "#")), (url, target[:80])


def test_docs_assets_outside_the_list_are_not_served(live: LiveApp) -> None:
    for path in ("/static/vendor/favicon.png", "/static/vendor/..%2F__init__.py"):
        assert live.client.get(path).status_code == 404, path


def _schema(live: LiveApp) -> dict[str, Any]:
    response = live.client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_schema_names_every_state_code_with_its_meaning(live: LiveApp) -> None:
    state = _schema(live)["components"]["schemas"]["TaskData"]["properties"]["state"]
    text = state["description"]
    for code in State:
        assert re.search(rf"`{int(code)}` \w", text), (code, text)


def test_schema_documents_meta_keys(live: LiveApp) -> None:
    meta = _schema(live)["components"]["schemas"]["TaskData"]["properties"]["meta"]
    for key in ("document", "rotation", "deskew", "bbox", "width", "height", "format", "subject"):
        assert meta["properties"][key]["description"], key
    assert meta["properties"]["document"]["properties"]["corners"]["description"]


def test_schema_has_no_422_and_real_error_examples(live: LiveApp) -> None:
    schema = _schema(live)
    assert '"422"' not in json.dumps(schema)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
            assert "400" in errors or method == "get", (path, method)
            assert "401" in errors, (path, method)
            for code, response in errors.items():
                example = response["content"]["application/json"]["example"]
                assert example["status"] == int(code), (path, code)
                assert example["message"] not in ("", "string"), (path, code)
    # An invalid field really is answered 400 with the field named, as documented.
    answer = live.client.post(TASKS, headers=live.headers(), data={"image_url": "x", "type": "a"})
    assert answer.status_code == 400 and answer.json()["field"] == "type"


def test_routes_carry_the_api_key_scheme_and_auth_is_unchanged(live: LiveApp) -> None:
    schema = _schema(live)
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-API-KEY"}
    for methods in schema["paths"].values():
        for operation in methods.values():
            assert operation["security"] == [{"ApiKey": []}]
            # The key is the scheme's, not an ordinary header parameter typed per call.
            assert all(p["name"].lower() != "x-api-key" for p in operation.get("parameters", []))
    missing = live.client.get(f"{TASKS}/nope")
    assert missing.status_code == 401 and missing.json()["message"] == "missing X-API-KEY header"
    wrong = live.client.get(f"{TASKS}/nope", headers={"X-API-KEY": "pfx_wrong"})
    assert wrong.status_code == 401
    assert live.client.get(f"{TASKS}/nope", headers=live.headers()).status_code == 404
