"""Money: exact integer minor units from decimal text, never via floats."""

import re
from decimal import Decimal

import pytest

from conversions.money import EXPONENTS, MoneyError, check_currency, format_minor, to_minor


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("49.90", "EUR", 4990),  # 49.90 EUR = 4990 cents
        ("49.9", "EUR", 4990),
        ("0.1", "USD", 10),
        ("0", "EUR", 0),
        ("0.00", "EUR", 0),
        (" 12.30 ", "EUR", 1230),
        ("1500", "JPY", 1500),  # the yen has no minor unit
        ("1500.0", "JPY", 1500),
        ("12.345", "KWD", 12345),  # the Kuwaiti dinar has 3 decimals (fils)
        ("1.5", "KWD", 1500),
        ("0.0001", "CLF", 1),  # 4 decimals
        ("1000000000000", "EUR", 100_000_000_000_000),  # the largest amount, 10^12
        (49, "EUR", 4900),
        (Decimal("49.90"), "EUR", 4990),
        (Decimal("1E+2"), "EUR", 10000),  # a JSON number 1e2, parsed as Decimal
        (Decimal("49.9" + "0" * 5000), "EUR", 4990),  # trailing zeros change nothing
    ],
)
def test_exact_minor_units(value, currency, minor):
    assert to_minor(value, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("1.234", "EUR", "more decimal places than EUR allows (2)"),
        ("1.5", "JPY", "more decimal places than JPY allows (0)"),
        ("1.2345", "KWD", "more decimal places than KWD allows (3)"),
        # 29 significant digits: Decimal's default 28-digit context would
        # round this to 100 cents before any exactness check
        ("1.0000000000000000000000000001", "EUR", "more decimal places"),
        (Decimal("1.0000000000000000000000000001"), "EUR", "more decimal places"),
        (Decimal("1E-999999"), "EUR", "more decimal places"),
        ("abc", "EUR", "not a decimal amount"),
        ("", "EUR", "not a decimal amount"),
        ("NaN", "EUR", "not a decimal amount"),
        ("Infinity", "EUR", "not a decimal amount"),
        ("1e3", "EUR", "not a decimal amount"),
        ("4_990", "EUR", "not a decimal amount"),
        ("49,90", "EUR", "not a decimal amount"),
        ("+5", "EUR", "not a decimal amount"),
        ("0x10", "EUR", "not a decimal amount"),
        ("-5", "EUR", "from 0 to 10^12"),
        ("-0.01", "EUR", "from 0 to 10^12"),
        (-1, "EUR", "from 0 to 10^12"),
        (Decimal("NaN"), "EUR", "finite"),
        (Decimal("Infinity"), "EUR", "finite"),
        (Decimal("-Infinity"), "EUR", "finite"),
        ("1000000000000.01", "EUR", "from 0 to 10^12"),
        (10**13, "EUR", "from 0 to 10^12"),
        (49.9, "EUR", "decimal string"),  # a binary float is refused, not guessed at
        (True, "EUR", "decimal string"),
        (None, "EUR", "decimal string"),
        (["1"], "EUR", "decimal string"),
    ],
)
def test_refused_amounts(value, currency, message):
    with pytest.raises(MoneyError, match=re.escape(message)):
        to_minor(value, currency)


def test_minor_units_of_currencies():
    # ISO 4217 minor units, looked up by hand in the standard's list one
    assert [EXPONENTS[c] for c in ("EUR", "USD", "GBP", "JPY", "KRW", "KWD", "BHD", "CLF")] == [
        2, 2, 2, 0, 0, 3, 3, 4,
    ]  # fmt: skip


@pytest.mark.parametrize(("value", "code"), [("EUR", "EUR"), ("eur", "EUR"), (" usd ", "USD")])
def test_currency_codes(value, code):
    assert check_currency(value) == code


@pytest.mark.parametrize("value", ["", "EURO", "E", "12", "ABC", "XXX", "XAU", "EUR\n1", None, 5])
def test_unknown_currency_codes_are_refused(value):
    with pytest.raises(MoneyError, match="ISO 4217"):
        check_currency(value)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (11000, "EUR", "110.00"),
        (4990, "EUR", "49.90"),
        (5, "EUR", "0.05"),
        (0, "EUR", "0.00"),
        (1500, "JPY", "1500"),
        (12345, "KWD", "12.345"),
        (5, "KWD", "0.005"),
        (100_000_000_000_000, "EUR", "1000000000000.00"),
    ],
)
def test_format_minor(minor, currency, text):
    assert format_minor(minor, currency) == text


@pytest.mark.parametrize("text", ["0.01", "19.99", "123456789.10", "0.00"])
def test_round_trip(text):
    assert format_minor(to_minor(text, "EUR"), "EUR") == text
