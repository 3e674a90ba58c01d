"""Money as integer minor units, parsed from decimal text, never via floats."""

import re
from decimal import Context, Decimal, Inexact, InvalidOperation

# Active ISO 4217 currencies and their minor units (digits after the point).
# Funds and metals without minor units (XAU, XDR, XXX...) are not money a
# conversion can be worth, and a code outside this list is a typo.
_BY_DIGITS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD"
    " BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP"
    " ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD"
    " KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR"
    " MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB"
    " SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY"
    " TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
EXPONENTS = {code: digits for digits, codes in _BY_DIGITS.items() for code in codes.split()}
CURRENCY = re.compile(r"[A-Z]{3}")
# a plain decimal as people and ct.js write it: no exponent, no sign, no "_"
DECIMAL_TEXT = re.compile(r"[0-9]{1,20}(\.[0-9]{1,40})?")
MAX_AMOUNT = Decimal("1000000000000")
EXACT = Context(prec=40, traps=[InvalidOperation, Inexact])


class MoneyError(ValueError):
    pass


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency, 2)


def check_currency(value) -> str:
    """An ISO 4217 code, upper-cased; anything else is refused."""
    code = value.strip().upper() if isinstance(value, str) else None
    if not code or not CURRENCY.fullmatch(code) or code not in EXPONENTS:
        raise MoneyError("currency must be a three-letter ISO 4217 code such as EUR")
    return code


def to_minor(value, currency: str) -> int:
    """Exact minor units of a decimal amount; refuses what cannot be exact.

    Text must be a plain decimal ("49.90"); numbers come as int or Decimal
    (JSON parsed with parse_float=Decimal), never float.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise MoneyError('value must be a decimal string such as "49.90" or a number')
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("-") and DECIMAL_TEXT.fullmatch(text[1:]):
            raise MoneyError(f"value must be a finite amount from 0 to 10^12, not {text[:40]}")
        if not DECIMAL_TEXT.fullmatch(text):
            raise MoneyError(f'value {value[:40]!r} is not a decimal amount such as "49.90"')
        amount = Decimal(text)
    else:
        amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise MoneyError(f"value must be a finite amount from 0 to 10^12, not {str(amount)[:40]}")
    digits = exponent(currency)
    too_precise = MoneyError(f"value has more decimal places than {currency} allows ({digits})")
    try:
        # 40 digits hold any amount up to 10^12 in the smallest minor unit;
        # Inexact is raised rather than silently rounding a longer one
        minor = amount.scaleb(digits, context=EXACT)
    except Inexact:
        raise too_precise from None
    if minor != minor.to_integral_value():
        raise too_precise
    return int(minor)


def format_minor(minor: int, currency: str) -> str:
    """`11000, "EUR"` -> `"110.00"`."""
    digits = exponent(currency)
    text = str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))
    return text
