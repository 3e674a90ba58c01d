"""Accessibility of the dashboard in a real browser: axe-core's WCAG 2.1 A
and AA rules on every page at desktop and phone widths, and the link form
used with the keyboard alone.

axe-core is vendored (vendor/axe.min.js, from the npm registry) and injected
into each page; nothing is loaded from a CDN. The page list comes from the
app's URL map, so a page added later is checked without touching this file,
and a page whose route has a parameter nobody seeded fails loudly.
"""

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from advocate_fixture import build_programme

from chromium_support import add_marketer, launched, needs_chromium, sign_in
from conftest import AUTH, BROWSER_UA, IPHONE_UA, app_config, make_link, post_webhook
from dashboard.web import PUBLIC_ENDPOINTS
from servers import gunicorn
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.clock import utcnow
from shortener.db import connect

pytestmark = needs_chromium

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {
    1280: {"user_agent": BROWSER_UA, "viewport": {"width": 1280, "height": 800}},
    390: {
        "user_agent": IPHONE_UA,
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
# GET routes under /dashboard that answer with something other than a page
NOT_PAGES = {
    "dashboard.static": "the stylesheet, scripts and vendored files",
    "dashboard.export": "CSV, SVG and PNG downloads: the API's own files",
}
# pages for signed-out visitors (the others send them there)
SIGNED_OUT = PUBLIC_ENDPOINTS - NOT_PAGES.keys()
# what no route shows on purpose: the error page, here for a link that is not there
ERROR_PAGE = "/dashboard/links/no-such-link"
AB_CODE = "spring-ab"
HUMAN = classify(BROWSER_UA)


def seed(tmp_path):
    """Something on every page: the advocate programme of March 2025
    (advocates, personal links, referrals, a refund), plus in the last two
    weeks clicks and purchases on the brand's links, an advocate's link and
    a link with an A/B test and targeting, a reward rule that rewards them,
    a cost, a goal's value and an API key. Returns the app."""
    programme = build_programme(tmp_path)
    client, app = programme.client, programme.app
    rule = {"campaign": "spring", "beneficiary": "advocate", "amount": "5.00", "currency": "EUR"}
    assert client.post("/api/reward-rules", json=rule, headers=AUTH).status_code == 201
    make_link(
        client,
        code=AB_CODE,
        destinations=[
            {"name": "A", "url": "https://shop.example.com/a", "weight": 1},
            {"name": "B", "url": "https://shop.example.com/b", "weight": 1},
        ],
        ios_url="https://apps.apple.com/app/id1",
        max_clicks=1000,
    )
    # ten o'clock of the latest day on which the purchases, an hour after
    # their clicks, are not in the future (before 11:00 UTC: yesterday's)
    now = utcnow()
    today = now.replace(hour=10, minute=0, second=0, microsecond=0)
    if today + timedelta(hours=1) > now:
        today -= timedelta(days=1)
    db = connect(app.config["DATABASE"])
    try:
        ids = dict(db.execute("SELECT code, id FROM links").fetchall())
        codes = [AB_CODE, programme.codes["S1"], programme.codes["S2"], programme.codes["P"]]
        for n in range(24):
            code, visitor = codes[n % len(codes)], f"v-recent-{n}"
            when = today - timedelta(days=n % 14)
            post = "reel" if n % 8 == 0 else None  # the A/B link's posts table
            record_click(db, link_id=ids[code], visitor_id=visitor, now=when, agent=HUMAN,
                         is_bot=False, user_agent=BROWSER_UA, post=post)  # fmt: skip
            if n % 3 == 0:
                payload = {"goal": "purchase", "value": "20.00", "currency": "EUR",
                           "visitor_id": visitor, "order_id": f"recent-{n}",
                           "occurred_at": (when + timedelta(hours=1)).isoformat()}  # fmt: skip
                bought = post_webhook(client, payload, msg_id=f"msg-recent-{n}")
                assert bought.status_code == 201, bought.get_json()
        from dashboard import apikeys

        apikeys.create_key(db, "Reporting script", None, utcnow())
    finally:
        db.close()
    cost = {"from": (today - timedelta(days=13)).date().isoformat(),
            "to": today.date().isoformat(), "channel": "twitter", "kind": "ads",
            "amount": "120.00", "currency": "EUR"}  # fmt: skip
    assert client.post("/api/costs", json=cost, headers=AUTH).status_code == 201
    goal = {"value": "5.00", "currency": "EUR"}
    assert client.put("/api/goals/signup", json=goal, headers=AUTH).status_code == 200
    add_marketer(app.config["DATABASE"])
    return app


def route_values(app) -> dict[str, list[str]]:
    """A seeded value for every parameter a dashboard page's route takes."""
    from dashboard import report_catalogue

    with app.test_request_context():
        reports = report_catalogue.report_names()
    return {"code": [AB_CODE], "channel": ["twitter"], "campaign": ["spring"], "name": reports}


def dashboard_pages(app) -> list[tuple[str, str]]:
    """(endpoint, path) of every page a GET under /dashboard shows."""
    values = route_values(app)
    adapter = app.url_map.bind("localhost")
    pages = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.split(".")[0] != "dashboard" or "GET" not in rule.methods:
            continue
        if rule.endpoint in NOT_PAGES:
            continue
        names = sorted(rule.arguments)
        missing = [n for n in names if n not in values]
        assert not missing, (
            f"{rule.rule} ({rule.endpoint}) takes {missing} and this test has no seeded value"
            " for it: add one to route_values() so the page is checked"
        )
        for combo in itertools.product(*(values[n] for n in names)):
            arguments = dict(zip(names, combo, strict=True))
            pages.append((rule.endpoint, adapter.build(rule.endpoint, arguments)))
    return pages


def test_the_page_list_is_every_dashboard_route_and_refuses_an_unseeded_one(tmp_path):
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    app = create_app(config)
    paths = [path for _, path in dashboard_pages(app)]
    for path in (
        "/dashboard/",
        "/dashboard/login",
        f"/dashboard/links/{AB_CODE}",
        "/dashboard/channels/twitter",
        "/dashboard/reports/roi",
        "/dashboard/rewards",
    ):
        assert path in paths, path
    assert not [p for p in paths if p.startswith(("/dashboard/static", "/dashboard/export"))]
    # a page added later, with a parameter this test has no value for
    app.add_url_rule("/dashboard/widgets/<widget_id>", "dashboard.widget", lambda widget_id: "")
    with pytest.raises(AssertionError, match=r"takes \['widget_id'\]"):
        dashboard_pages(app)


@pytest.fixture(scope="module")
def chromium():
    with launched() as browser:
        yield browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("a11y")
    app = seed(tmp_path)
    config = app_config(tmp_path, DEFAULT_CURRENCY="EUR")
    assert config["DATABASE"] == app.config["DATABASE"]
    with gunicorn(config) as base:
        yield base, app


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => {
          const result = await axe.run(document, {
            runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
          return result.violations.map(v => ({
            rule: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(" "))}));
        }""",
        WCAG_21_AA,
    )


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_every_dashboard_page_has_no_axe_violations(chromium, site, width):
    base, app = site
    pages = dashboard_pages(app)
    endpoints = {endpoint for endpoint, _ in pages}
    assert {"dashboard.overview", "dashboard.link_new", "dashboard.report_page"} <= endpoints
    # bypass_csp: the pages allow only their own scripts, and axe comes inline
    signed_in = chromium.new_context(**WIDTHS[width], bypass_csp=True)
    signed_out = chromium.new_context(**WIDTHS[width], bypass_csp=True)
    try:
        sign_in(signed_in.new_page(), base)
        found = []
        for endpoint, path in [*pages, ("error page", ERROR_PAGE)]:
            page = (signed_out if endpoint in SIGNED_OUT else signed_in).new_page()
            response = page.goto(base + path)
            assert response.status == (404 if path == ERROR_PAGE else 200), path
            assert response.url == base + path, f"{path} went to {response.url}"
            for v in axe_violations(page):
                found.append(
                    f"{path} at {width} px: {v['rule']} ({v['impact']}) {v['help']}"
                    f" -- {', '.join(v['targets'])}"
                )
            page.close()
    finally:
        signed_in.close()
        signed_out.close()
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)


# The focused element as computed styles draw it: the colours of its ring
# (outline, and box-shadows with a spread), the background the ring is drawn
# on, and the sides where the viewport or a scrolling box cuts the ring off.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const colour = (text) => {
    const m = text.match(/rgba?\\(([^)]*)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const ring = [];
  let reach = 0, inside = false;
  const width = parseFloat(cs.outlineWidth), offset = parseFloat(cs.outlineOffset);
  if (cs.outlineStyle !== "none" && width >= 2) {
    ring.push(colour(cs.outlineColor));
    reach = Math.max(reach, offset + width);
    inside = offset < 0;
  }
  if (cs.boxShadow !== "none") {
    for (const shadow of cs.boxShadow.split(/,(?![^(]*\\))/)) {
      const numbers = shadow.replace(/rgba?\\([^)]*\\)/, "").replace("inset", "")
        .trim().split(/\\s+/).map(parseFloat);
      const [x, y, blur, spread] = numbers.concat([0, 0, 0, 0]);
      if (spread >= 2) {
        ring.push(colour(shadow));
        const outside = spread + Math.max(Math.abs(x), Math.abs(y));
        if (!shadow.includes("inset")) reach = Math.max(reach, outside);
      }
    }
  }
  const layers = [];
  for (let node = inside ? el : el.parentElement; node; node = node.parentElement) {
    const bg = colour(getComputedStyle(node).backgroundColor);
    if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] === 1) break; }
  }
  const box = el.getBoundingClientRect();
  const drawn = {left: box.left - reach, top: box.top - reach,
                 right: box.right + reach, bottom: box.bottom + reach};
  const clip = {left: 0, top: 0, right: document.documentElement.clientWidth,
                bottom: document.documentElement.clientHeight};
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const s = getComputedStyle(a), b = a.getBoundingClientRect();
    if (s.overflowX !== "visible") {
      clip.left = Math.max(clip.left, b.left + a.clientLeft);
      clip.right = Math.min(clip.right, b.left + a.clientLeft + a.clientWidth);
    }
    if (s.overflowY !== "visible") {
      clip.top = Math.max(clip.top, b.top + a.clientTop);
      clip.bottom = Math.min(clip.bottom, b.top + a.clientTop + a.clientHeight);
    }
  }
  const cut = ["left", "top"].filter(side => drawn[side] < clip[side] - 0.5)
    .concat(["right", "bottom"].filter(side => drawn[side] > clip[side] + 0.5));
  const text = (el.getAttribute("aria-label") || el.textContent || "").trim().slice(0, 40);
  return {name: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (text ? ` "${text}"` : ""),
          ring, layers, cut};
}"""


def luminance(rgb) -> float:
    """WCAG 2.1's relative luminance of an sRGB colour (0-255 channels)."""

    def linear(c):
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def over(top, under):
    """`top` (r, g, b, alpha) painted over the opaque colour `under`."""
    alpha = top[3]
    return [t * alpha + u * (1 - alpha) for t, u in zip(top[:3], under[:3], strict=True)]


def backdrop(layers) -> list[float]:
    """The colour behind the ring: the backgrounds from the nearest up to the
    first opaque one, painted over the page's white canvas."""
    colour = [255, 255, 255]
    for layer in reversed(layers):
        colour = over(layer, colour)
    return colour


def test_contrast_is_worked_out_as_wcag_says():
    assert contrast([0, 0, 0], [255, 255, 255]) == pytest.approx(21)
    # the old ring: #7aa0ff on white 2.53:1, on the page's #f5f6f8 2.34:1
    assert contrast([0x7A, 0xA0, 0xFF], [255, 255, 255]) == pytest.approx(2.53, abs=0.01)
    assert contrast([0x7A, 0xA0, 0xFF], [0xF5, 0xF6, 0xF8]) == pytest.approx(2.34, abs=0.01)
    assert over([0, 0, 0, 0.5], [255, 255, 255]) == [127.5, 127.5, 127.5]


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_tabbing_through_the_link_form_every_stop_is_in_view_with_a_visible_ring(
    chromium, site, width
):
    base, _ = site
    context = chromium.new_context(**WIDTHS[width])
    try:
        page = context.new_page()
        sign_in(page, base, "/dashboard/links/new")
        stops = []
        for _ in range(150):
            page.keyboard.press("Tab")
            stop = page.evaluate(FOCUSED)
            if stop is None:  # past the last stop: the focus left the page
                break
            stops.append(stop)
        names = [s["name"] for s in stops]
        assert names[0] == 'a "Skip to content"'
        for name in ('a "Advocates"', 'a "Install"', "input#url", 'button "Create link"'):
            assert name in names, name
        assert names[-1] == 'a "Cancel"'
        problems = []
        for stop in stops:
            ring = [c for c in stop["ring"] if c]
            if not ring:
                problems.append(f"{stop['name']}: no focus indicator")
                continue
            behind = backdrop(stop["layers"])
            best = max(contrast(over(c, behind), behind) for c in ring)
            if best < 3:
                problems.append(f"{stop['name']}: focus indicator {best:.2f}:1 against {behind}")
            if stop["cut"]:
                problems.append(f"{stop['name']}: focus ring cut off at {stop['cut']}")
        assert not problems, f"at {width} px:\n" + "\n".join(problems)
    finally:
        context.close()


def test_an_empty_link_form_puts_the_focus_on_what_to_enter(chromium, site):
    base, app = site
    context = chromium.new_context(**WIDTHS[390], bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, base, "/dashboard/links/new")
        before = count_links(app)
        page.focus("#link-form button[type=submit]")
        with page.expect_navigation() as sent:
            page.keyboard.press("Enter")
        assert sent.value.status == 400
        focused = page.evaluate(
            "({id: document.activeElement.id, role: document.activeElement.getAttribute('role'),"
            " text: document.activeElement.innerText})"
        )
        assert (focused["id"], focused["role"]) == ("error-summary", "alert")
        assert "Enter the destination URL, starting with https://" in focused["text"]
        assert "Enter the channel" in focused["text"] and "e.g. linkedin" in focused["text"]
        assert "Enter the campaign, e.g. spring-sale" in focused["text"]
        box = page.locator("#error-summary").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844  # in view, not below the fold
        # each box says it too, tied to it
        url = page.locator("#url")
        assert url.get_attribute("aria-invalid") == "true"
        described = url.get_attribute("aria-describedby")
        assert page.inner_text(f"#{described}") == (
            "Enter the destination URL, starting with https://"
        )
        # the summary's first link leads the keyboard to the box
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('href')") == "#url"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "url"
        assert axe_violations(page) == []
        assert count_links(app) == before
    finally:
        context.close()


def count_links(app) -> int:
    db = connect(app.config["DATABASE"])
    try:
        return db.execute("SELECT count(*) FROM links").fetchone()[0]
    finally:
        db.close()
