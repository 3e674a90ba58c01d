"""What the dashboard's charts draw, worked out from report rows.

Each function returns a chart as the page passes it to `static/charts.js`
in a `<script type="application/json">` block (the pages' Content-Security-
Policy allows no inline script): a type, the labels along the axis, and the
datasets. Money stays decimal text, as the API writes it (Chart.js reads
numbers from text); nothing is summed across currencies, so a report with
two currencies gets a chart per currency.
"""

from conversions.attribution import MODELS
from conversions.stats import wilson_interval

from .formats import MODEL_WORDS, VALUE_LABELS

DIRECT = "(direct)"


def currencies(rows: list[dict]) -> list[str]:
    """The currencies of a report's rows, the one with most rows first."""
    counts = {}
    for row in rows:
        counts[row["currency"]] = counts.get(row["currency"], 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))


def _label(row: dict) -> str:
    if row.get("campaign"):
        return f"{row['channel']} / {row['campaign']}"
    if "campaign" in row and row.get("channel") != DIRECT:
        return f"{row['channel']} (no campaign)"
    return row["channel"]


def attribution(rows: list[dict]) -> list[dict]:
    """Revenue per channel under every model, side by side (grouped bars)."""
    charts = []
    for currency in currencies(rows):
        mine = [r for r in rows if r["currency"] == currency]
        charts.append(
            {
                "type": "bar",
                "title": f"Revenue under each attribution model, {currency}",
                "labels": [_label(r) for r in mine],
                "datasets": [
                    {
                        "label": MODEL_WORDS[m].capitalize(),
                        "data": [r[f"{m}_revenue"] for r in mine],
                    }
                    for m in MODELS
                ],
                "axis": "money",
                "currency": currency,
            }
        )
    return charts


def no_cost(row: dict) -> bool:
    return row["cost"] is None and row["channel"] != DIRECT


def cost_and_return(rows: list[dict]) -> list[dict]:
    """Cost beside revenue per channel (bars); a channel with no cost
    entered has no cost bar, and says so in its label."""
    charts = []
    for currency in currencies(rows):
        mine = [r for r in rows if r["currency"] == currency]
        labels = [_label(r) + (" (no cost entered)" if no_cost(r) else "") for r in mine]
        charts.append(
            {
                "type": "bar",
                "title": f"Cost and revenue per channel, {currency}",
                "labels": labels,
                "datasets": [
                    {"label": "Cost", "data": [r["cost"] for r in mine], "color": "#d04b3f"},
                    {"label": "Revenue", "data": [r["revenue"] for r in mine], "color": "#16a37f"},
                ],
                "axis": "money",
                "currency": currency,
            }
        )
    return charts


def control_group(rows: list[dict]) -> dict | None:
    """Each group's conversion rate with its 95 % (Wilson) interval: a
    floating bar from the lower to the upper bound, the rate a mark on it."""
    groups = {}
    for row in rows:  # the rates repeat on a group's currency rows
        groups.setdefault(row["group"], row)
    if not groups:
        return None
    labels, rates, intervals = [], [], []
    for name, row in groups.items():
        labels.append(VALUE_LABELS["group"].get(name, name))
        rates.append(row["conversion_rate"])
        interval = wilson_interval(row["converted_visitors"], row["visitors"])
        intervals.append([round(interval[0], 6), round(interval[1], 6)] if interval else None)
    return {
        "type": "bar",
        "title": "Conversion rate of each group, with its 95 % interval",
        "labels": labels,
        "datasets": [
            {"label": "95 % interval", "data": intervals, "color": "#9db4ff"},
            {"label": "Conversion rate", "data": rates, "kind": "mark", "color": "#2144b4"},
        ],
        "axis": "percent",
    }


def growth_from_rows(rows: list[dict], bucket: str) -> dict:
    """The Growth report's rows as the growth chart draws them: human clicks
    and conversions per channel and period (clicks repeat on a channel's
    currency rows, so they are read once; conversions are counted per
    currency, so they add up)."""
    labels = sorted({r["period"] for r in rows})
    index = {label: i for i, label in enumerate(labels)}
    series = {}
    seen = set()
    for row in rows:
        s = series.setdefault(
            row["channel"],
            {"channel": row["channel"], "human_clicks": [0] * len(labels),
             "conversions": [0] * len(labels)},
        )  # fmt: skip
        i = index[row["period"]]
        if (row["channel"], row["period"]) not in seen:
            seen.add((row["channel"], row["period"]))
            s["human_clicks"][i] = row["human_clicks"]
        s["conversions"][i] = round(s["conversions"][i] + row["conversions"], 6)
    ordered = sorted(series.values(), key=lambda s: (s["channel"] == DIRECT, s["channel"]))
    return {"bucket": bucket, "labels": labels, "series": ordered}


def link_activity(series: dict) -> dict:
    """A link over time: human clicks, visitors and QR scans as lines,
    conversions as bars."""
    return {
        "type": "line",
        "title": f"Clicks and conversions per {series['bucket']}",
        "labels": series["labels"],
        "datasets": [
            {"label": "Human clicks", "data": series["human_clicks"], "color": "#2c55d8"},
            {"label": "Visitors", "data": series["unique_visitors"], "color": "#7b52d9"},
            {"label": "QR scans", "data": series["qr_scans"], "color": "#e0802b"},
            {
                "label": "Conversions",
                "data": series["conversions"],
                "kind": "bar",
                "color": "#16a37f",
            },
        ],
        "axis": "number",
    }
