"""GET /api/links/<code>/qr: the image decodes back to the link's scan URL
(with zxing-cpp, a real QR reader), and a scan is counted as one."""

import struct
import zlib

import pytest
import zxingcpp

from conftest import AUTH, browser, make_link
from dashboard_support import signed_in


def png_pixels(data: bytes) -> tuple[bytes, int, int]:
    """8-bit grey pixels of a 1-bit greyscale PNG such as segno writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks[kind] = chunks.get(kind, b"") + data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (1, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = (width + 7) // 8
    pixels, previous = bytearray(), bytes(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):  # PNG row filters, one byte per "pixel" at 1 bit
            left = line[i - 1] if i else 0
            up, corner = previous[i], previous[i - 1] if i else 0
            if kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            else:
                guess = {0: 0, 1: left, 2: up, 3: (left + up) // 2}[kind]
            line[i] = (line[i] + guess) & 0xFF
        previous = bytes(line)
        for x in range(width):
            bit = line[x // 8] >> (7 - x % 8) & 1
            pixels.append(255 if bit else 0)
    return bytes(pixels), width, height


def decode(data: bytes) -> str:
    pixels, width, height = png_pixels(data)
    [barcode] = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return barcode.text


@pytest.fixture
def link(client):
    return make_link(client, code="poster", channel="print", campaign="spring")


def test_the_png_decodes_back_to_the_scan_url(client, link):
    response = client.get("/api/links/poster/qr?format=png&size=300", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert decode(response.data) == "http://go.example.test/poster?qr=1"
    _, width, _ = png_pixels(response.data)
    # 34 bytes of URL need QR version 3 at level M (version 2-M holds 26):
    # 29 modules and the 4-module quiet zone each side make 37; 300 // 37 = 8
    # pixels per module -> 296 pixels
    assert width == 296


def test_svg_is_the_default_and_size_is_checked(client, link):
    response = client.get("/api/links/poster/qr", headers=AUTH)
    assert (response.status_code, response.mimetype) == (200, "image/svg+xml")
    assert response.data.lstrip().startswith(b"<?xml") and b"<svg" in response.data
    for query, field in (("format=gif", "format"), ("size=10", "size"), ("size=x", "size")):
        refused = client.get(f"/api/links/poster/qr?{query}", headers=AUTH)
        assert (refused.status_code, refused.get_json()["field"]) == (400, field)
    assert client.get("/api/links/nope/qr", headers=AUTH).status_code == 404
    assert client.get("/api/links/poster/qr").status_code == 401


def test_scanning_the_code_records_a_qr_click(app, client, db, link):
    scan_url = decode(client.get("/api/links/poster/qr?format=png", headers=AUTH).data)
    path = scan_url.removeprefix("http://go.example.test")
    response = browser(app).get(path)
    assert response.status_code == 302
    assert "qr=" not in response.headers["Location"]
    assert [r["source"] for r in db.query("SELECT source FROM clicks")] == ["qr"]


def test_the_dashboard_offers_and_serves_the_qr_downloads(app, link):
    client, _ = signed_in(app)
    page = client.get("/dashboard/links/poster").get_data(as_text=True)
    assert "/dashboard/export/links/poster/qr?format=png" in page
    assert "/dashboard/export/links/poster/qr?format=svg" in page
    download = client.get("/dashboard/export/links/poster/qr?format=png")
    assert (download.status_code, download.mimetype) == (200, "image/png")
    assert decode(download.data) == "http://go.example.test/poster?qr=1"
