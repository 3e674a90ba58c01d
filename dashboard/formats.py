"""Jinja filters that write numbers the way a marketer reads them."""

from decimal import Decimal

from conversions.money import format_minor


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
    """A decimal string from the reports ("1234.50") as "1,234.50 USD"."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(str(amount))
    exponent = -value.as_tuple().exponent if value.as_tuple().exponent < 0 else 0
    text = f"{value:,.{exponent}f}"
    return f"{text} {currency}" if currency else text


def minor(value_minor: int, currency: str) -> str:
    """Stored integer minor units (4990, "USD") as "49.90 USD"."""
    return money(format_minor(value_minor, currency), currency)


def cell(value, column: str = "") -> str:
    """Any report cell, by the conventions of the API's column names."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if column.endswith("_percent"):
            return f"{number(value)} %"
        ratio = column.endswith(("rate", "_share", "lift")) or column.startswith("difference")
        if ratio and isinstance(value, float):
            return percent(value)
        return number(value)
    if numeric(value) and "." in value:
        return money(value)  # decimal text from the API: exact, with separators
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


def heading(column: str) -> str:
    """`roi_percent` -> "ROI %", `new_customers` -> "New customers"."""
    words = column.replace("_percent", " %").replace("_", " ").strip()
    for short in ("roi", "romi", "cac", "cpc", "ppc", "ci"):
        words = " ".join(w.upper() if w == short else w for w in words.split(" "))
    return words[:1].upper() + words[1:]


FILTERS = {
    "number": number,
    "percent": percent,
    "money": money,
    "minor": minor,
    "cell": cell,
    "heading": heading,
    "numeric": numeric,
}
