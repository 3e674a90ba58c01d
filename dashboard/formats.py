"""How the dashboard writes numbers, money and column names, in one place.

Money has one format everywhere, cards and tables alike: the amount with
thousands separators and the currency's minor digits, then the currency
(`1,562.70 USD`). Forms accept what the tables display (`1,000.00`).
"""

import re
from decimal import Decimal

from conversions.money import exponent, format_minor

# report columns that hold money, by the words of their names; their
# values come from the API as decimal text in the row's currency
MONEY_WORDS = ("revenue", "cost", "cac", "cpc", "value", "fees", "rewards_earned", "amount")
# a column whose money is in another column's currency
CURRENCY_OF = {"catalogue_value": "catalogue_currency"}
# an amount as the tables write it: digits grouped in threes by commas
GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")

# every report column in plain words (the API's names stay as they are)
LABELS = {
    "channel": "Channel",
    "campaign": "Campaign",
    "currency": "Currency",
    "cost": "Cost",
    "labor_cost": "Labour cost",
    "platform_cost": "Platform cost",
    "ads_cost": "Ads cost",
    "other_cost": "Other cost",
    "conversions": "Conversions",
    "cost_per_conversion": "Cost per conversion",
    "revenue": "Revenue",
    "new_customers": "New customers",
    "cac": "Cost per new customer (CAC)",
    "roi_percent": "ROI\u00a0%",
    "romi": "Return on labour and tools",
    "human_clicks": "Human clicks",
    "cpc": "Price per click",
    "earned_value": "Value as bought clicks",
    "group": "Group",
    "visitors": "Visitors",
    "unique_visitors": "Visitors",
    "converted_visitors": "Converted visitors",
    "conversion_rate": "Conversion rate",
    "revenue_per_visitor": "Revenue per visitor",
    "revenue_per_customer": "Revenue per customer",
    "repeat_purchase_rate": "Repeat purchase rate",
    "lift": "Lift over the control group",
    "difference": "Difference from the control group",
    "difference_low": "Lower bound of the difference",
    "difference_high": "Upper bound of the difference",
    "verdict": "Verdict",
    "period": "Period starting",
    "days": "Days",
    "goal": "Goal",
    "value": "Value",
    "average_value": "Average value",
    "catalogue_value": "Default value",
    "catalogue_currency": "Default value's currency",
    "saves": "Saves",
    "saved_visitors": "Visitors kept",
    "saved_value": "Value kept",
    "conversion_id": "Conversion",
    "occurred_at": "When (UTC)",
    "visitor_id": "Visitor",
    "customer_id": "Customer",
    "touches": "Clicks before it",
    "first_touch_at": "First click (UTC)",
    "first_touch_channel": "First click's channel",
    "first_touch_campaign": "First click's campaign",
    "middle_touches": "Clicks in between",
    "converting_touch_at": "Last click (UTC)",
    "converting_touch_channel": "Last click's channel",
    "converting_touch_campaign": "Last click's campaign",
    "days_from_first_touch": "Days from the first click",
    "customers": "Customers",
    "median_days_to_second_purchase": "Median days to a second purchase",
    "active": "Active",
    "churned": "Churned",
    "median_tenure_days": "Median tenure (days)",
    "median_tenure_at_least_days": "Median tenure at least (days)",
    "purchases": "Purchases",
    "purchases_per_customer": "Purchases per customer",
    "upsell_revenue": "Revenue from upsells",
    "upsell_share": "Share from upsells",
    "repeat_revenue": "Revenue from repeat purchases",
    "repeat_share": "Share from repeat purchases",
    "repeat_customers": "Customers who bought again",
    "advocate": "Advocate",
    "name": "Name",
    "depth": "Referral depth",
    "parent": "Referred by",
    "links": "Personal links",
    "new_visitors": "New visitors",
    "conversion_rate_low": "Conversion rate, lower bound",
    "conversion_rate_high": "Conversion rate, upper bound",
    "campaign_conversion_rate": "Campaign's conversion rate",
    "refunded_revenue": "Refunded revenue",
    "self_conversions": "Their own conversions",
    "invited_friends": "Friends invited",
    "rewards_earned": "Rewards earned",
    "fees": "Fees",
    "generation": "Generation",
    "advocates": "Advocates",
    "friends_converted": "Friends who converted",
    "friends_converted_per_advocate": "Friends converted per advocate",
    "invitations": "Invitations",
    "invitations_per_converted": "Invitations per converted friend",
    "invited_visitors": "Invited visitors",
    "invited_converted": "Invited who converted",
    "invited_conversion_rate": "Invited visitors' conversion rate",
    "k": "Viral coefficient (k)",
    "customer": "Customer",
    "repeat_purchases": "Repeat purchases",
    "first_purchase": "First purchase",
    "tenure_days": "Tenure (days)",
    "cancelled": "Cancelled",
    "friends_reached": "Friends reached",
    "friends_conversion_low": "Friends' conversion rate, lower bound",
    "score": "Score",
}
MODEL_WORDS = {
    "last_touch": "last touch",
    "first_touch": "first touch",
    "linear": "linear",
    "position_based": "position-based",
    "time_decay": "time decay",
}
# cell values that are API words
VALUE_LABELS = {
    "group": {
        "social": "Social visitors",
        "non_social": "Non-social visitors",
        "control": "Control group",
    },
}


def number(value) -> str:
    """12345 -> "12,345"; fractional conversions keep two decimals at most."""
    if value is None or value == "":
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    text = f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return text


def percent(value, digits: int = 1) -> str:
    """A ratio (0.125) as a percentage ("12.5 %"); empty when undefined."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:,.{digits}f} %"


def money(amount, currency: str | None = None) -> str:
    """Decimal text from the reports ("1234.5") as "1,234.50 USD": grouped
    thousands, at least the currency's minor digits, then the currency."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(str(amount))
    places = -value.as_tuple().exponent if value.as_tuple().exponent < 0 else 0
    if currency:
        places = max(places, exponent(currency))
    text = f"{value:,.{places}f}"
    return f"{text} {currency}" if currency else text


def minor(value_minor: int, currency: str) -> str:
    """Stored integer minor units (4990, "USD") as "49.90 USD"."""
    return money(format_minor(value_minor, currency), currency)


def conversion_value(value_minor, currency) -> str:
    """A conversion's value; a lead or signup that carries none shows "—",
    not "0.00 USD"."""
    if not value_minor or not currency:
        return "—"
    return minor(value_minor, currency)


def amount_text(text: str) -> str:
    """What a marketer typed in an amount box, as the API reads amounts:
    "1,000.00" (as the tables write it) becomes "1000.00". Anything else is
    passed on as it is, for the API's own rules to accept or name."""
    text = text.strip()
    return text.replace(",", "") if GROUPED.fullmatch(text) else text


def is_money(column: str) -> bool:
    return not column.endswith(("_growth", "_share")) and any(w in column for w in MONEY_WORDS)


def cell(value, column: str = "", row: dict | None = None) -> str:
    """Any report cell, by the conventions of the API's column names; money
    carries the currency of its row."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column in VALUE_LABELS and value in VALUE_LABELS[column]:
        return VALUE_LABELS[column][value]
    if isinstance(value, int | float):
        if column.endswith("_percent"):
            return f"{number(value)} %"
        if column.endswith("_growth"):
            return f"{number(value)} %"  # the API gives growth in %
        ratio = column.endswith(("rate", "_share", "lift", "_low", "_high"))
        ratio = ratio or column.startswith("retention_")
        if (ratio or column.startswith("difference")) and isinstance(value, float):
            return percent(value)
        return number(value)
    if numeric(value) and is_money(column):
        currency = (row or {}).get(CURRENCY_OF.get(column, "currency"))
        return money(value, currency if isinstance(currency, str) else None)
    if numeric(value) and "." in value:
        return money(value)
    return str(value)


def numeric(value) -> bool:
    """Whether a cell holds a number (money comes as decimal text)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str) and value[:1] in "-0123456789" and value[-1:].isdigit():
        return all(c in "-.0123456789" for c in value)
    return False


def numeric_column(rows: list[dict], column: str) -> bool:
    """Whether a column holds numbers (right-aligned): any cell does."""
    return any(numeric(r.get(column)) for r in rows)


def numeric_columns(rows: list[dict], columns: list[str]) -> set[str]:
    """The columns of `columns` that hold numbers, in one pass over the rows."""
    return {c for c in columns if numeric_column(rows, c)}


def heading(column: str) -> str:
    """A report column in plain words: `roi_percent` -> "ROI %",
    `difference_low` -> "Lower bound of the difference"."""
    if column in LABELS:
        return LABELS[column]
    for model, words in MODEL_WORDS.items():
        if column.startswith(model + "_"):
            figure = column[len(model) + 1 :]
            return f"{LABELS.get(figure, figure)}, {words}"
    if column.endswith("_growth"):
        figure = column[: -len("_growth")]
        return f"{LABELS.get(figure, figure.replace('_', ' ').capitalize())}, change"
    words = column.replace("_percent", " %").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


FILTERS = {
    "number": number,
    "percent": percent,
    "money": money,
    "minor": minor,
    "conversion_value": conversion_value,
    "cell": cell,
    "heading": heading,
    "numeric": numeric,
    "numeric_column": numeric_column,
    "numeric_columns": numeric_columns,
}
