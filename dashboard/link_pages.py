"""Links: the list with search, filters and per-link numbers; create, edit,
disable. Validation is `shortener.links`' own, so a link made here obeys
exactly the rules of `POST /api/links`."""

import json
import re

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from conversions import overview
from conversions.posts import post_rows
from shortener import countries, links, posts, previews, protect
from shortener.api import base_url
from shortener.clock import utcnow
from shortener.db import get_db
from shortener.destinations import build_destination, utm_parameters
from shortener.errors import ApiError
from shortener.journal import catch_up
from shortener.redirect import own_hosts

from . import charts, integrations, link_errors
from .link_breakdowns import TOP, link_breakdowns
from .params import MODEL_LABELS, PRESET_LABELS, read_view
from .web import bp

PAGE_SIZE = 50
FORM_FIELDS = ("url", "channel", "campaign", "medium", "content", "term", "code", "expires_at",
               "title", "description", "image")  # fmt: skip
EDITABLE = ("url", "medium", "content", "term", "expires_at", "title", "description", "image")
# targeting and limits: sent on every save, an empty box clears the option
FEATURE_FORM = ("ios_url", "android_url", "desktop_url", "expired_url", "max_clicks",
                "destinations", "country_urls")  # fmt: skip
# the boxes whose text is not the stored value as it stands
SPECIAL_FORM = ("max_clicks", "destinations", "country_urls")
# boxes a new link cannot do without: all of them are named at once, where
# the API's rules would stop at the first
REQUIRED = ("url", "channel", "campaign")


def page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


@bp.get("/links")
def links_index():
    view = read_view(default_preset="all")
    q = request.args.get("q", "").strip()[:200]
    status = request.args.get("status", "all")
    status = status if status in links.STATUSES else "all"
    picked = {k: request.args.get(k, "").strip() or None for k in ("channel", "campaign", "tag")}
    page = page_number()
    db = catch_up(get_db())
    # the links API's own listing and count, with the page's status filter
    filters = {"q": q or None, "status": status, **picked}
    rows = links.list_links(db, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
    rows = [{**r, "tags": json.loads(r["tags"])} for r in rows]
    total = links.count_links(db, **filters)
    numbers = overview.link_stats(db, [r["id"] for r in rows], view.period, view.model)
    base = base_url()
    return render_template(
        "dashboard/links.html",
        view=view,
        links=[{**r, "short_url": f"{base.rstrip('/')}/{r['code']}"} for r in rows],
        numbers=numbers,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        q=q,
        status=status,
        picked=picked,
        choices=links.filter_choices(db),
        presets=PRESET_LABELS,
        models=MODEL_LABELS,
    )


def form_values(form) -> dict:
    values = {f: form.get(f, "").strip() for f in (*FORM_FIELDS, *FEATURE_FORM)}
    values["tags"] = form.get("tags", "").strip()
    return values


# one A/B destination as the form's label says, `URL, weight, name` (the
# name may have spaces), or with spaces alone, `URL weight name`; a URL has
# no spaces, so it ends at the separator before the last possible weight
DESTINATION_LINE = re.compile(
    r"(?P<url>\S+)(?:\s*,\s*|\s+)(?P<weight>[0-9]+)(?:(?:\s*,\s*|\s+)(?P<name>.*?))?\s*"
)
LINE_FORMAT = "destinations: one per line, a URL, a whole-number weight and an optional name"


def destination_line(line: str) -> dict | None:
    """{url, weight[, name]} of one line of the A/B box; None for a blank
    line. A lone URL weighs 1; anything else is refused (ApiError)."""
    text = line.strip()
    if not text:
        return None
    if not any(c.isspace() for c in text) and "," not in text:
        return {"url": text, "weight": 1}
    found = DESTINATION_LINE.fullmatch(text)
    if found is None:
        raise ApiError(LINE_FORMAT, field="destinations")
    variant = {"url": found["url"].rstrip(","), "weight": int(found["weight"])}
    if found["name"]:
        variant["name"] = found["name"]
    return variant


# one country destination: `DE https://...` (a colon or comma after the code
# is forgiven: people copy them from lists)
COUNTRY_LINE = re.compile(r"(?P<code>[A-Za-z]{2})\s*[:,]?\s+(?P<url>\S+)")
COUNTRY_FORMAT = "country_urls: one per line, a two-letter country code and a URL"


def country_urls(text: str) -> dict | None:
    """The country box as the API takes it, {"DE": url}, or None when empty;
    a line that is not `CODE URL` is refused (ApiError), as is a code given
    twice (the second would silently win)."""
    urls = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        found = COUNTRY_LINE.fullmatch(line.strip())
        if found is None:
            raise ApiError(COUNTRY_FORMAT, field="country_urls")
        code = found["code"].upper()
        if code in urls:
            raise ApiError(f"country_urls names {code} twice", field="country_urls")
        urls[code] = found["url"]
    return urls or None


def country_lines(stored: str | None) -> str:
    return "\n".join(f"{code} {url}" for code, url in json.loads(stored or "{}").items())


def feature_fields(values: dict) -> dict:
    """The targeting boxes as the API takes them. A/B destinations are one
    per line, `URL, weight, name`, which a marketer can type and read."""
    fields = {f: values[f] or None for f in FEATURE_FORM}
    clicks = values["max_clicks"]
    fields["max_clicks"] = int(clicks) if clicks.isascii() and clicks.isdigit() else clicks or None
    variants = [v for v in map(destination_line, values["destinations"].splitlines()) if v]
    fields["destinations"] = variants or None
    fields["country_urls"] = country_urls(values["country_urls"])
    return fields


def destination_lines(stored: str | None) -> str:
    variants = json.loads(stored) if stored else []
    return "\n".join(f"{v['url']}, {v['weight']}, {v['name']}" for v in variants)


def variant_urls(link: dict) -> list[dict]:
    """Where a click lands for each A/B variant, UTM tags included, with
    the variant's share of the clicks."""
    variants = json.loads(link["destinations"]) if link["destinations"] else []
    total = sum(v["weight"] for v in variants)
    utm = utm_parameters(link, current_app.config["SOCIAL_CHANNELS"])
    return [
        {
            "name": v["name"],
            "share": v["weight"] / total,
            "url": build_destination(v["url"], utm, "CLICK_ID"),
        }
        for v in variants
    ]


def country_targets(link: dict) -> list[dict]:
    """Where a click from each country with a destination of its own lands,
    UTM tags included, by the country's name."""
    utm = utm_parameters(link, current_app.config["SOCIAL_CHANNELS"])
    return [
        {"code": code, "name": countries.NAMES.get(code, code), "destination": url,
         "url": build_destination(url, utm, "CLICK_ID")}
        for code, url in json.loads(link["country_urls"] or "{}").items()
    ]  # fmt: skip


def password_field(form) -> dict:
    """The password boxes as the API takes them: a new password, or null to
    remove it; nothing when both are left alone (the stored one stays: it is
    never shown, nor typed back into the form after an error)."""
    if form.get("remove_password"):
        return {"password": None}
    typed = form.get("password", "")
    return {"password": typed} if typed else {}


def tag_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def expiry_input(stored: str | None) -> str:
    """A stored expiry as a datetime-local input value (UTC, minutes)."""
    return stored[:16] if stored else ""


def preview_context() -> dict:
    return {"social_channels": json.dumps(current_app.config["SOCIAL_CHANNELS"])}


def form_errors(problems: list[dict]) -> dict:
    """The form's error summary, and each box's own message."""
    boxes = {p["field"]: p["message"] for p in problems if p["field"]}
    return {"errors": problems, "field_errors": boxes}


def refusal(e: ApiError) -> list[dict]:
    """The API rules' refusal, in the form's words, tied to its box."""
    field = e.field if e.field in (*FORM_FIELDS, *FEATURE_FORM, "tags", "password") else None
    return [{"field": field, "message": link_errors.for_marketer(e)}]


def final_url(link: dict) -> str:
    """The destination a click lands on, UTM tags included (the click id,
    different for every click, shown as a placeholder)."""
    utm = utm_parameters(link, current_app.config["SOCIAL_CHANNELS"])
    return build_destination(link["url"], utm, "CLICK_ID")


def create(values: dict, password: dict) -> tuple[dict | None, list[dict], int]:
    """(the new link, [], 303) or (None, what is wrong, the status);
    `password`: password_field's."""
    missing = [{"field": f, "message": link_errors.missing(f)} for f in REQUIRED if not values[f]]
    if missing:
        return None, missing, 400
    fields = {k: v for k, v in values.items() if k in FORM_FIELDS and v != ""}
    fields["tags"] = tag_list(values["tags"])
    fields.update(password)
    try:
        fields.update(feature_fields(values))
        link = links.create_link(
            get_db(), fields, own_hosts(), current_app.config["BLOCKED_DESTINATION_HOSTS"]
        )
    except ApiError as e:
        return None, refusal(e), e.status
    return link, [], 303


@bp.route("/links/new", methods=["GET", "POST"])
def link_new():
    values = form_values(request.form) if request.method == "POST" else {}
    problems, status = [], 200
    if request.method == "POST":
        link, problems, status = create(values, password_field(request.form))
        if link:
            flash(f"Link {link['code']} created.", "success")
            return redirect(url_for("dashboard.link_edit", code=link["code"]), 303)
    page = render_template(
        "dashboard/link_form.html",
        link=None,
        values=values,
        **form_errors(problems),
        **preview_context(),
    )
    return page, status


@bp.route("/links/<code>", methods=["GET", "POST"])
def link_edit(code):
    db = catch_up(get_db())
    link = links.get_link(db, code)
    if link is None:
        abort(404, f"There is no link with the code '{code}'.")
    problems, status = [], 200
    if request.method == "POST":
        values = form_values(request.form)
        fields = {k: values[k] for k in EDITABLE}
        fields["tags"] = tag_list(values["tags"])
        fields.update(password_field(request.form))
        try:
            fields.update(feature_fields(values))
            links.update_link(
                db, code, fields, own_hosts(), current_app.config["BLOCKED_DESTINATION_HOSTS"]
            )
        except ApiError as e:
            problems, status = refusal(e), e.status
        else:
            flash("Changes saved.", "success")
            return redirect(url_for("dashboard.link_edit", code=code), 303)
    else:
        values = {
            **{k: link[k] or "" for k in ("url", "channel", "campaign", "medium", "content")},
            "term": link["term"] or "",
            **{k: link[k] or "" for k in links.PREVIEW_FIELDS},
            "code": link["code"],
            "expires_at": expiry_input(link["expires_at"]),
            "tags": ", ".join(json.loads(link["tags"])),
            **{k: link[k] or "" for k in FEATURE_FORM if k not in SPECIAL_FORM},
            "max_clicks": "" if link["max_clicks"] is None else str(link["max_clicks"]),
            "destinations": destination_lines(link["destinations"]),
            "country_urls": country_lines(link["country_urls"]),
        }
    view = read_view(default_preset="all")
    numbers = overview.link_stats(db, [link["id"]], view.period, view.model)[link["id"]]
    currency = current_app.config["DEFAULT_CURRENCY"]
    series = overview.link_series(db, link["id"], view.period, view.model, utcnow().date())
    page = render_template(
        "dashboard/link_form.html",
        link={**link, "short_url": f"{base_url().rstrip('/')}/{code}"},
        final_url=final_url(link),
        variants=variant_urls(link),
        country_targets=country_targets(link),
        activity=charts.link_activity(series),
        breakdowns=link_breakdowns(db, code, view.period, view.model, currency),
        top=TOP,
        presets=PRESET_LABELS,
        models=MODEL_LABELS,
        values=values,
        **form_errors(problems),
        numbers=numbers,
        view=view,
        qr=integrations.qr_formats(),
        unfurls=previews.unfurl_counts(db, link["id"]),
        wrong_passwords=protect.wrong_counts(db, link["id"]),
        ab=ab_summary(code),
        posts=post_rows(db, link["id"], view.period, view.model, currency),
        post_example=f"{base_url().rstrip('/')}/{posts.tagged(code, 'reel-1')}",
        **preview_context(),
    )
    return page, status


def set_disabled(code: str, disabled: bool):
    db = get_db()
    if links.get_link(db, code) is None:
        abort(404, f"There is no link with the code '{code}'.")
    links.update_link(db, code, {"disabled": disabled})
    if disabled:
        flash(
            f"Link {code} disabled: it now answers 410; its clicks stay in every report.", "success"
        )
    else:
        flash(f"Link {code} enabled again.", "success")
    return redirect(request.form.get("back") or url_for("dashboard.link_edit", code=code), 303)


@bp.post("/links/<code>/disable")
def link_disable(code):
    return set_disabled(code, True)


@bp.post("/links/<code>/enable")
def link_enable(code):
    return set_disabled(code, False)


def ab_summary(code: str) -> dict | None:
    """The link's A/B report as the API gives it, when it has a test."""
    if not integrations.api_rule("/api/links/<code>/ab"):
        return None
    from conversions.abtest import link_ab

    db = get_db()
    link = links.get_link(db, code)
    body = link_ab(db, link) if link else None
    return body if body and body.get("rows") else None


@bp.post("/links/<code>/ab/end")
def link_ab_end(code):
    """End the link's A/B test keeping the chosen variant (the API's own rule)."""
    db = get_db()
    link = links.get_link(db, code)
    if link is None:
        abort(404, f"There is no link with the code '{code}'.")
    from conversions.abtest import end_test

    try:
        ended = end_test(db, link, request.form.get("variant"), utcnow())
    except ApiError as e:
        flash(e.message, "error")
    else:
        flash(f"Test ended: variant {ended['winner']} is now the link's destination.", "success")
    return redirect(url_for("dashboard.link_edit", code=code), 303)
