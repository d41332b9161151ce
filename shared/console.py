"""Each agency's web console, served by its own service at `/console/`.

The console is a client of the public JSON API like any other (same origin,
so no CORS): plain ES modules, HTML and CSS from shared/console/static/,
no build step, nothing from the internet. This module only serves those
files, with what keeps them safe to serve:

- only files under the static folder, of the kinds listed below (a path
  that names anything else, climbs out with `..` or hides in a dot-file is
  a 404, like any unknown route);
- `Cache-Control: no-cache` (the browser revalidates, so a new release is
  picked up at once) and an ETag to revalidate against;
- a Content-Security-Policy that allows this origin only: no inline script
  or style, no other host, no framing;
- the index page names the agency (`<body data-agency=...>`), filled in
  from the service's own name, so the same files serve all five.
"""
import hashlib
import html
from importlib import resources
from pathlib import Path

from werkzeug.wrappers import Response

from shared.errors import NotFound
from shared.web import api

STATIC = Path(str(resources.files("shared"))) / "console" / "static"
INDEX = "index.html"
AGENCY_PLACEHOLDER = "{{agency}}"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'"))

HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def static_file(asset, root=STATIC):
    """The file `asset` names under `root`, or None: only plain names of the
    listed kinds, never `..`, a dot-file, a backslash or a link out of `root`."""
    parts = asset.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") or "\\" in part or "\x00" in part
           for part in parts):
        return None
    if Path(parts[-1]).suffix not in CONTENT_TYPES:
        return None
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def file_response(request, body, suffix):
    etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
    headers = dict(HEADERS, ETag=etag)
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(body, status=200, headers=headers, content_type=CONTENT_TYPES[suffix])


def index_page(agency, root=STATIC):
    text = (root / INDEX).read_text(encoding="utf-8")
    return text.replace(AGENCY_PLACEHOLDER, html.escape(agency, quote=True)).encode("utf-8")


class Console:
    """The mixin a service lists among its bases to serve its console."""

    @api("GET", "/console/", public=True)
    def console_index(self, request):
        return file_response(request, index_page(self.name), ".html")

    @api("GET", "/console/<path:asset>", public=True)
    def console_asset(self, request, asset):
        if asset == INDEX:
            return self.console_index(request)
        path = static_file(asset)
        if path is None:
            raise NotFound("no console file %s" % asset)
        return file_response(request, path.read_bytes(), path.suffix)
