"""A link's page, "Where the clicks come from": its human clicks per
country, device, browser, OS, referrer and source as small ranked bars,
each with the conversions and revenue credited to those clicks.

The figures are the breakdown report's (conversions.breakdown, the
function `GET /api/reports/breakdown?link=CODE` answers with), for the
page's period and model, without the distinct-visitor counts the bars do
not show. The top values get a bar each and the rest one "Other" bar.
"""

from collections import defaultdict
from decimal import Decimal

from conversions.breakdown import breakdown_rows
from conversions.reports import Period
from shortener import countries

TOP = 8
# the breakdowns shown, in the order a marketer asks "where from?"
SHOWN = {
    "country": "Country",
    "device": "Device",
    "browser": "Browser",
    "os": "Operating system",
    "referrer": "Referrer",
    "source": "Link or QR code",
}
EMPTY = {"referrer": "No referrer (typed, an app, a private link)"}
SOURCES = {"link": "Link", "qr": "QR code"}


def label(by: str, value: str) -> str:
    """A value in a marketer's words: "Germany (DE)", "QR code", "Unknown"."""
    if not value:
        return EMPTY.get(by, "Unknown")
    if by == "country":
        return f"{countries.NAMES.get(value, value)} ({value})"
    if by == "source":
        return SOURCES.get(value, value)
    if by == "device":
        return value.capitalize()
    return value


def merged(rows: list[dict]) -> list[dict]:
    """One entry per value (the report has one per value and currency):
    human clicks, conversions summed, revenue per currency."""
    values: dict[str, dict] = {}
    for row in rows:
        entry = values.setdefault(
            row["value"],
            {"value": row["value"], "clicks": row["human_clicks"], "conversions": 0,
             "revenue": defaultdict(Decimal)},
        )  # fmt: skip
        entry["conversions"] += row["conversions"]
        if Decimal(row["revenue"]):
            entry["revenue"][row["currency"]] += Decimal(row["revenue"])
    return [v for v in values.values() if v["clicks"] or v["conversions"]]


def ranked(by: str, entries: list[dict], top: int = TOP) -> list[dict]:
    """The `top` values by human clicks (the report's order), then "Other"
    for the rest; each with its bar's width, a percentage of the widest."""
    shown = [{**e, "label": label(by, e["value"])} for e in entries[:top]]
    rest = entries[top:]
    if rest:
        revenue = defaultdict(Decimal)
        for e in rest:
            for currency, amount in e["revenue"].items():
                revenue[currency] += amount
        shown.append(
            {"value": None, "label": f"Other ({len(rest)})", "other": True,
             "clicks": sum(e["clicks"] for e in rest),
             "conversions": sum(e["conversions"] for e in rest), "revenue": revenue}
        )  # fmt: skip
    widest = max((e["clicks"] for e in shown), default=0)
    for e in shown:
        e["width"] = round(100 * e["clicks"] / widest, 1) if widest else 0
        e["revenue"] = {c: str(a) for c, a in sorted(e["revenue"].items())}
    return shown


def link_breakdowns(db, code: str, period: Period, model: str, currency: str) -> list[dict]:
    """[{by, title, rows}] for the link's page."""
    return [
        {
            "by": by,
            "title": title,
            "rows": ranked(
                by,
                merged(
                    breakdown_rows(
                        db, by, period, model, link=code, default_currency=currency,
                        visitors=False,
                    )
                ),
            ),
        }
        for by, title in SHOWN.items()
    ]  # fmt: skip
