"""A/B destinations judged by conversions: the per-variant report and
ending a test with its winner.

A visitor belongs to the variant of their first human click on the link
(stable assignment makes that every click, unless the weights changed
mid-test). A variant's conversions are those credited, under last touch,
to a click on the link sent to that variant -- the same credit the
per-channel report gives the link. Every variant is compared with the
first (the control) by `stats.ab_comparison`. The report reads only this
link's assigned clicks (a partial index) and the credits on them.
"""

import json
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

import click
from flask import Blueprint, current_app, jsonify, request
from sqlite_utils import Database

from shortener.api import found, json_body
from shortener.auth import require_api_key
from shortener.clock import to_db, utcnow
from shortener.db import get_db, immediate
from shortener.errors import ApiError
from shortener.journal import catch_up

from .cli import emit, report_cli
from .money import format_minor
from .reports import Period, conversions_number, ratio
from .stats import ab_comparison
from .views import respond

bp = Blueprint("abtest", __name__, url_prefix="/api")

AB_COLUMNS = [
    "variant",
    "url",
    "weight",
    "visitors",
    "conversions",
    "converted_visitors",
    "conversion_rate",
    "currency",
    "revenue",
    "revenue_per_visitor",
    "difference",
    "difference_low",
    "difference_high",
    "p_value",
    "verdict",
    "needed_per_variant",
]


def _variants(db: Database, link: dict) -> list[dict]:
    """The variants to report, in order: the running test's, else the last
    ended test's; names seen only in older clicks follow."""
    current = json.loads(link["destinations"]) if link["destinations"] else None
    if current is None:
        last = next(
            db.query(
                "SELECT destinations FROM ab_tests WHERE link_id = ? ORDER BY id DESC LIMIT 1",
                [link["id"]],
            ),
            None,
        )
        current = json.loads(last["destinations"]) if last else []
    return [{"name": d["name"], "url": d["url"], "weight": d["weight"]} for d in current]


def per_minor(revenue_minor: int, visitors: int, currency: str) -> str | None:
    """Revenue per visitor in the currency's minor unit, rounded half to even."""
    if not visitors:
        return None
    minor = (Decimal(revenue_minor) / Decimal(visitors)).quantize(Decimal(1), ROUND_HALF_EVEN)
    return format_minor(int(minor), currency)


def ab_rows(db: Database, link: dict, default_currency: str = "USD") -> list[dict]:
    """One row per variant and currency of its revenue (visitor and
    conversion columns repeat on a variant's currency rows, as in the
    channel report). Conversions under last touch; the control's
    comparison columns are empty."""
    visitors = {}  # visitor -> variant of their first human click
    for visitor, variant in db.conn.execute(
        "SELECT visitor_id, variant FROM clicks WHERE link_id = ? AND variant IS NOT NULL"
        " AND visitor_id IS NOT NULL ORDER BY id",
        (link["id"],),
    ):
        visitors.setdefault(visitor, variant)
    counts = defaultdict(int)
    for variant in visitors.values():
        counts[variant] += 1
    credit = defaultdict(lambda: {"ppm": 0, "revenue_minor": 0})
    converted = defaultdict(set)
    for variant, visitor, currency, ppm, revenue in db.conn.execute(
        "SELECT ck.variant, co.visitor_id, co.currency, cr.weight_ppm, cr.revenue_minor"
        " FROM credits cr JOIN clicks ck ON ck.id = cr.click_row"
        " JOIN conversions co ON co.id = cr.conversion_id"
        " WHERE cr.model = 'last_touch' AND cr.click_row IN (SELECT id FROM clicks"
        " WHERE link_id = ? AND variant IS NOT NULL AND visitor_id IS NOT NULL)",
        (link["id"],),
    ):
        # the visitor's own variant (first click), should a later click differ
        variant = visitors.get(visitor, variant)
        credit[(variant, currency)]["ppm"] += ppm
        credit[(variant, currency)]["revenue_minor"] += revenue
        if ppm:
            converted[variant].add(visitor)
    variants = _variants(db, link)
    named = {v["name"] for v in variants}
    for name in sorted(set(counts) - named):
        variants.append({"name": name, "url": None, "weight": None})
    control = variants[0]["name"] if variants else None
    rows = []
    for v in variants:
        name = v["name"]
        n, x = counts[name], len(converted[name])
        comparison = None
        if name != control:
            comparison = ab_comparison(len(converted[control]), counts[control], x, n)
        currencies = sorted(c for (var, c) in credit if var == name) or [default_currency]
        for currency in currencies:
            c = credit.get((name, currency), {"ppm": 0, "revenue_minor": 0})
            rows.append(
                {
                    "variant": name,
                    "url": v["url"],
                    "weight": v["weight"],
                    "visitors": n,
                    "conversions": conversions_number(c["ppm"]),
                    "converted_visitors": x,
                    "conversion_rate": ratio(x, n),
                    "currency": currency,
                    "revenue": format_minor(c["revenue_minor"], currency),
                    "revenue_per_visitor": per_minor(c["revenue_minor"], n, currency),
                    **_comparison_columns(comparison),
                }
            )
    return rows


def _comparison_columns(comparison: dict | None) -> dict:
    if comparison is None:
        return dict.fromkeys(AB_COLUMNS[-6:])
    return {
        "difference": round(comparison["difference"], 6),
        "difference_low": round(comparison["low"], 6),
        "difference_high": round(comparison["high"], 6),
        "p_value": None if comparison["p_value"] is None else round(comparison["p_value"], 6),
        "verdict": comparison["verdict"],
        "needed_per_variant": comparison["needed_per_variant"],
    }


def history(db: Database, link_id: int) -> list[dict]:
    return [
        {**r, "destinations": json.loads(r["destinations"])}
        for r in db.query(
            "SELECT winner, previous_url, destinations, ended_at FROM ab_tests"
            " WHERE link_id = ? ORDER BY id",
            [link_id],
        )
    ]


def end_test(db: Database, link: dict, variant, now) -> dict:
    """Make the winner the link's url and clear the destinations; the test
    (its variants, the old url, when it ended) is kept in ab_tests, and
    clicks keep their variant, so the report still shows how it went."""
    variants = json.loads(link["destinations"]) if link["destinations"] else []
    if not variants:
        raise ApiError("this link has no A/B test running", 409, field="variant")
    names = [v["name"] for v in variants]
    if not isinstance(variant, str) or variant not in names:
        raise ApiError(f"variant must be one of {', '.join(names)}", field="variant")
    url = next(v["url"] for v in variants if v["name"] == variant)
    with immediate(db):
        db.execute(
            "INSERT INTO ab_tests (link_id, destinations, winner, previous_url, ended_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [link["id"], link["destinations"], variant, link["url"], to_db(now)],
        )
        db.execute(
            "UPDATE links SET url = ?, destinations = NULL, updated_at = ? WHERE id = ?",
            [url, to_db(now), link["id"]],
        )
    return {"winner": variant, "url": url}


def ab_answer(db, link: dict, rows: list[dict]) -> dict:
    """The JSON body of GET /api/links/<code>/ab for `link` and its `rows`."""
    return {
        "code": link["code"],
        "status": "running" if link["destinations"] else "ended" if rows else "none",
        "model": "last_touch",
        "control": rows[0]["variant"] if rows else None,
        "rows": rows,
        "history": history(db, link["id"]),
    }


def link_ab(db, link: dict) -> dict:
    """The link's A/B report; the API view and the dashboard's link page
    both call this."""
    rows = ab_rows(catch_up(db), link, current_app.config["DEFAULT_CURRENCY"])
    return ab_answer(db, link, rows)


@bp.get("/links/<code>/ab")
@require_api_key
def ab_report(code):
    link = found(code)
    rows = ab_rows(catch_up(get_db()), link, current_app.config["DEFAULT_CURRENCY"])
    if request.args.get("format", "json") != "json":
        return respond(f"ab-{code}", AB_COLUMNS, rows, Period(), "last_touch")
    return jsonify(ab_answer(get_db(), link, rows))


@bp.post("/links/<code>/ab/end")
@require_api_key
def ab_end(code):
    link = found(code)
    variant = json_body().get("variant")  # the one field declared
    return jsonify(end_test(get_db(), link, variant, utcnow()))


@report_cli.command("ab")
@click.argument("code")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="write CSV to this file ('-' for stdout)")  # fmt: skip
def ab_command(code, csv_path):
    """Per-variant visitors, conversions, revenue and significance of a link's A/B test.

    Example: flask --app shortener report ab spring-sale --csv ab.csv
    """
    db = catch_up(get_db())
    row = next(db.query("SELECT id, url, destinations FROM links WHERE code = ?", [code]), None)
    if row is None:
        raise click.ClickException(f"no link with code '{code}'")
    emit(AB_COLUMNS, ab_rows(db, row, current_app.config["DEFAULT_CURRENCY"]), csv_path)
