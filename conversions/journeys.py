"""Journeys: the campaign history behind each conversion.

A journey is the touches that could earn credit for the conversion -- the
visitor's human clicks within the attribution window before it -- as
fixed when the conversion was recorded. They are read back from the
stored credits: the linear model gives every touch a share, in touch
order, so its credit rows name every touch even after retention has
deleted the raw clicks (the touch then keeps its link but loses its time).
"""

from collections import defaultdict

from sqlite_utils import Database

from shortener.clock import from_db

from .attribution import MODELS, ONE
from .intake import public
from .money import format_minor
from .reports import DIRECT_CHANNEL, Period
from .stats import days_between

EVERY_TOUCH_MODEL = "linear"
COLUMNS = [
    "conversion_id",
    "occurred_at",
    "goal",
    "value",
    "currency",
    "visitor_id",
    "customer_id",
    "touches",
    "first_touch_at",
    "first_touch_channel",
    "first_touch_campaign",
    "middle_touches",
    "converting_touch_at",
    "converting_touch_channel",
    "converting_touch_campaign",
    "days_from_first_touch",
]


def _touch_rows(db: Database, where: str, params: list):
    """Linear-model credit rows (one per touch, in order) of the conversions
    selected by `where` on conversions c."""
    return db.query(
        "SELECT cr.conversion_id, cr.click_row, k.ts, k.click_id, l.code, l.channel,"
        " l.campaign FROM credits cr JOIN links l ON l.id = cr.link_id"
        " LEFT JOIN clicks k ON k.id = cr.click_row"
        " WHERE cr.model = ? AND cr.conversion_id IN"
        f" (SELECT c.id FROM conversions c WHERE {where})"
        " ORDER BY cr.conversion_id, cr.id",
        [EVERY_TOUCH_MODEL, *params],
    )


def _days_from_first(touches: list[dict], occurred_at: str) -> float | None:
    if not touches or not touches[0]["ts"]:
        return None
    return round(days_between(from_db(touches[0]["ts"]), from_db(occurred_at)), 6)


def _label(touch: dict) -> str:
    at = f" {touch['ts']}" if touch["ts"] else ""
    return f"{touch['channel']}/{touch['campaign']}{at}"


def conversion_where(period: Period, filters) -> tuple[str, list]:
    clauses, params = [], []
    if period.start:
        clauses.append("c.occurred_at >= ?")
        params.append(period.start.isoformat())
    if period.end:
        clauses.append("c.occurred_at < date(?, '+1 day')")
        params.append(period.end.isoformat())
    if filters.goal:
        clauses.append("c.goal = ?")
        params.append(filters.goal)
    if filters.channel or filters.campaign:
        link_sql, link_params = filters.link_where("l")
        clauses.append(
            "EXISTS (SELECT 1 FROM credits x JOIN links l ON l.id = x.link_id"
            f" WHERE x.conversion_id = c.id AND x.model = ? AND {link_sql})"
        )
        params += [EVERY_TOUCH_MODEL, *link_params]
    return " AND ".join(clauses) or "TRUE", params


def journey_rows(db: Database, q, s=None) -> list[dict]:
    """One row per conversion in the period, oldest first: its first touch,
    the touches in between, the converting (last) touch, how many, and the
    days from the first touch to the conversion. With a channel or campaign,
    the conversions whose journey touched it."""
    return journey_page(db, q)


def journey_count(db: Database, q) -> int:
    """How many rows `journey_rows` gives, counted in SQL."""
    where, params = conversion_where(q.period, q.filters)
    return db.execute(f"SELECT count(*) FROM conversions c WHERE {where}", params).fetchone()[0]


def journey_page(db: Database, q, limit: int | None = None, offset: int = 0) -> list[dict]:
    """`journey_rows` from row `offset` on, at most `limit` of them: a
    dashboard page reads its hundred conversions and their touches, not
    every conversion's journey."""
    where, params = conversion_where(q.period, q.filters)
    page_sql, page_params = "", []
    if limit is not None:
        page_sql, page_params = " LIMIT ? OFFSET ?", [limit, offset]
    conversions = list(
        db.query(
            "SELECT c.id, c.occurred_at, c.goal, c.value_minor, c.currency, c.visitor_id,"
            f" c.customer_id FROM conversions c WHERE {where} ORDER BY c.occurred_at, c.id"
            f"{page_sql}",
            [*params, *page_params],
        )
    )
    if limit is not None:  # only this page's touches
        ids = [c["id"] for c in conversions] or [0]
        where, params = f"c.id IN ({', '.join('?' * len(ids))})", ids
    touches = defaultdict(list)
    for t in _touch_rows(db, where, params):
        touches[t["conversion_id"]].append(t)
    return [_journey_row(c, touches.get(c["id"], [])) for c in conversions]


def _journey_row(c: dict, journey: list[dict]) -> dict:
    first = journey[0] if journey else None
    last = journey[-1] if journey else None
    return {
        "conversion_id": c["id"],
        "occurred_at": c["occurred_at"],
        "goal": c["goal"],
        "value": format_minor(c["value_minor"], c["currency"]),
        "currency": c["currency"],
        "visitor_id": c["visitor_id"],
        "customer_id": c["customer_id"],
        "touches": len(journey),
        "first_touch_at": first and first["ts"],
        "first_touch_channel": first["channel"] if first else DIRECT_CHANNEL,
        "first_touch_campaign": first and first["campaign"],
        "middle_touches": " > ".join(_label(t) for t in journey[1:-1]),
        "converting_touch_at": last and last["ts"],
        "converting_touch_channel": last["channel"] if last else DIRECT_CHANNEL,
        "converting_touch_campaign": last and last["campaign"],
        "days_from_first_touch": _days_from_first(journey, c["occurred_at"]),
    }


def _share(ppm: int) -> float:
    return ppm // ONE if ppm % ONE == 0 else round(ppm / ONE, 6)


def journey(db: Database, conversion_id: int) -> dict | None:
    """One conversion with its touches in order, each touch's credit under
    every model, and the credit per channel and campaign under every model."""
    row = next(db.query("SELECT * FROM conversions WHERE id = ?", [conversion_id]), None)
    if row is None:
        return None
    currency = row["currency"]
    credits = list(
        db.query(
            "SELECT cr.model, cr.click_row, cr.weight_ppm, cr.revenue_minor, l.channel,"
            " l.campaign FROM credits cr LEFT JOIN links l ON l.id = cr.link_id"
            " WHERE cr.conversion_id = ? ORDER BY cr.id",
            [conversion_id],
        )
    )
    by_click = {(c["model"], c["click_row"]): c for c in credits if c["click_row"] is not None}
    touches = []
    for i, t in enumerate(_touch_rows(db, "c.id = ?", [conversion_id]), start=1):
        credit = {}
        for model in MODELS:
            c = by_click.get((model, t["click_row"])) if t["click_row"] is not None else None
            if t["click_row"] is None:
                credit[model] = None  # the raw click is gone: only per-link credit is known
            else:
                credit[model] = {
                    "share": _share(c["weight_ppm"]) if c else 0,
                    "revenue": format_minor(c["revenue_minor"] if c else 0, currency),
                }
        touches.append(
            {
                "position": i,
                "at": t["ts"],
                "click_id": t["click_id"],
                "code": t["code"],
                "channel": t["channel"],
                "campaign": t["campaign"],
                "credit": credit,
            }
        )
    per_link = defaultdict(lambda: [0, 0])
    for c in credits:
        key = (c["model"], c["channel"] or DIRECT_CHANNEL, c["campaign"])
        per_link[key][0] += c["weight_ppm"]
        per_link[key][1] += c["revenue_minor"]
    summary = {
        model: [
            {"channel": channel, "campaign": campaign, "share": _share(ppm),
             "revenue": format_minor(minor, currency)}
            for (m, channel, campaign), (ppm, minor) in per_link.items()
            if m == model
        ]
        for model in MODELS
    }  # fmt: skip
    raw = [{"ts": t["at"]} for t in touches]
    return {
        "conversion": public(row),
        "touch_count": len(touches),
        "first_touch": touches[0] if touches else None,
        "middle_touches": touches[1:-1],
        "converting_touch": touches[-1] if touches else None,
        "days_from_first_touch": _days_from_first(raw, row["occurred_at"]),
        "touches": touches,
        "credit": summary,
    }
