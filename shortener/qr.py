"""GET /api/links/<code>/qr: a QR code for print and offline campaigns.

The code encodes the link's scan URL -- the short URL with `?qr=1` -- so a
scan is recorded as a click with source "qr" and reports can show scans
apart from taps and typed links (the per-channel `qr_scans` column).
`/api/links/CODE~POST/qr` encodes the tagged short URL (shortener.posts):
a flyer or a poster is then a post of the link.
"""

import io

import segno
from flask import Blueprint, Response, request

from . import posts
from .api import base_url, found, int_arg
from .auth import require_api_key
from .errors import ApiError

bp = Blueprint("qr", __name__, url_prefix="/api")

BORDER = 4  # the quiet zone the QR standard asks for, in modules
MIMETYPES = {"svg": "image/svg+xml", "png": "image/png"}


def scan_url(short_url: str) -> str:
    return f"{short_url}?qr=1"


def qr_image(url: str, fmt: str, size: int) -> bytes:
    """The QR symbol of `url` as SVG or PNG, `size` pixels wide at most (whole
    pixels per module; at least one). Error correction M: a printed code
    still scans with a little damage."""
    code = segno.make(url, error="m", micro=False)
    width, _ = code.symbol_size(scale=1, border=BORDER)
    out = io.BytesIO()
    code.save(out, kind=fmt, scale=max(1, size // width), border=BORDER)
    return out.getvalue()


@bp.get("/links/<code>/qr")
@require_api_key
def link_qr(code):
    base_code, post = posts.split_path(code)
    link = found(base_code)
    if post is None and posts.SEPARATOR in code:
        # the redirect would ignore the tag: a printed code must not carry one that counts nothing
        raise ApiError(
            f"a post tag (after {posts.SEPARATOR}) is 1 to {posts.MAX_LENGTH} letters,"
            " digits, - or _",
            field="code",
        )
    fmt = request.args.get("format", "svg")  # svg or png, as declared
    size = int_arg("size", 512)
    path = posts.tagged(link["code"], post)
    short_url = f"{base_url().rstrip('/')}/{path}"
    response = Response(qr_image(scan_url(short_url), fmt, size), mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'inline; filename="{path}-qr.{fmt}"'
    return response
