"""GET /api/links/<code>/qr: a QR code for print and offline campaigns.

The code encodes the link's scan URL -- the short URL with `?qr=1` -- so a
scan is recorded as a click with source "qr" and reports can show scans
apart from taps and typed links (the per-channel `qr_scans` column).
"""

import io

import segno
from flask import Blueprint, Response, request

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
    link = found(code)
    fmt = request.args.get("format", "svg")
    if fmt not in MIMETYPES:
        raise ApiError("format must be svg or png", field="format")
    size = int_arg("size", 512, 64, 4096)
    short_url = f"{base_url().rstrip('/')}/{link['code']}"
    response = Response(qr_image(scan_url(short_url), fmt, size), mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'inline; filename="{link["code"]}-qr.{fmt}"'
    return response
