"""Money as integer minor units, parsed from decimal text, never via floats."""

import re
from decimal import Decimal, InvalidOperation

# ISO 4217 currencies whose minor unit is not cents
EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
    "KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
    "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("1000000000000")


class MoneyError(ValueError):
    pass


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency, 2)


def check_currency(value) -> str:
    if not isinstance(value, str) or not CURRENCY.match(value.strip().upper()):
        raise MoneyError("currency must be a three-letter ISO 4217 code such as EUR")
    return value.strip().upper()


def to_minor(value, currency: str) -> int:
    """Exact minor units of a decimal amount; refuses what cannot be exact."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise MoneyError('value must be a decimal string such as "49.90" or a number')
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise MoneyError(f"value {str(value)[:40]!r} is not a number") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise MoneyError("value must be a finite amount from 0 to 10^12")
    digits = exponent(currency)
    minor = amount.scaleb(digits)
    if minor != minor.to_integral_value():
        raise MoneyError(f"value has more decimal places than {currency} allows ({digits})")
    return int(minor)


def format_minor(minor: int, currency: str) -> str:
    """`11000, "EUR"` -> `"110.00"`."""
    digits = exponent(currency)
    text = str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))
    return text
