"""How the services serve their consoles: the agency named on the page, the
content types, no caching without revalidation, a strict
Content-Security-Policy, and nothing outside the static folder."""
import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from shared.console import CONTENT_TYPES, STATIC, static_file
from shared.parties import ALL


def raw_get(url, path, headers=None):
    """GET `path` exactly as written (no client normalises its dots)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.msg, response.read()  # headers: case-insensitive
    finally:
        connection.close()


@pytest.mark.parametrize("service", ALL)
def test_each_service_serves_its_own_console(system, service):
    status, headers, body = raw_get(system.url(service), "/console/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert ('data-agency="%s"' % service).encode() in body
    assert headers["Cache-Control"] == "no-cache"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = raw_get(system.url(service), "/console")
    assert status in (301, 308) and headers["Location"].endswith("/console/")


def test_assets_have_their_content_types_and_revalidate(system):
    url = system.url("developer")
    for path, content_type in (("/console/js/app.js", "text/javascript; charset=utf-8"),
                               ("/console/i18n/zh.js", "text/javascript; charset=utf-8"),
                               ("/console/console.css", "text/css; charset=utf-8")):
        status, headers, body = raw_get(url, path)
        assert status == 200 and headers["Content-Type"] == content_type and body
        assert headers["Cache-Control"] == "no-cache"
        status, _, body = raw_get(url, path, {"If-None-Match": headers["ETag"]})
        assert status == 304 and body == b""


def test_the_console_loads_nothing_from_elsewhere():
    for path in STATIC.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "http://" not in text and "https://" not in text and "//cdn" not in text, path
            assert path.suffix in CONTENT_TYPES, path


@pytest.mark.parametrize("path", [
    "/console/../shared/console.py",
    "/console/..%2fconsole.py",
    "/console/%2e%2e/console.py",
    "/console/js/../../console.py",
    "/console/js/%2e%2e/%2e%2e/console.py",
    "/console//etc/passwd",
    "/console/.%2e/.%2e/nameko.yaml",
    "/console/js/app.js%00.css",
    "/console/.hidden.js",
    "/console/js",
    "/console/i18n/",
    "/console/js/app.py",
    "/console/..\\console.py",
])
def test_nothing_outside_the_static_folder_is_served(system, path):
    status, headers, body = raw_get(system.url("property_company"), path)
    if status == 308:  # werkzeug merges doubled slashes: a redirect within /console/
        assert urlsplit(headers["Location"]).path.startswith("/console/")
        status, headers, body = raw_get(system.url("property_company"), urlsplit(headers["Location"]).path)
    # A NUL in the path is refused before any route is looked at.
    assert status == (400 if "%00" in path else 404), (path, status, body[:200])
    assert b"import " not in body and b"LINKAGE" not in body


def test_static_file_refuses_every_way_out(tmp_path):
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "static" / "js" / "app.js").write_text("ok")
    (tmp_path / "secret.js").write_text("secret")
    (tmp_path / "static" / "link.js").symlink_to(tmp_path / "secret.js")
    root = tmp_path / "static"
    assert static_file("js/app.js", root) == (root / "js" / "app.js").resolve()
    for asset in ("../secret.js", "js/../../secret.js", "link.js", "/secret.js", "js//app.js",
                  ".js", "js/./app.js", "js\\..\\..\\secret.js", "js", "missing.js"):
        assert static_file(asset, root) is None, asset
    assert Path(STATIC / "index.html").is_file()
