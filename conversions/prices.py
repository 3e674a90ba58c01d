"""Prices per click for the earned-value report, set in the dashboard or
by `POST /api/earned-prices`, per channel or per campaign.

They are stored as whole millionths of the currency unit (`price_micros`):
integers, like every amount, yet a price of 0.125 USD a click is kept
exactly. A stored price comes before the `EARNED_CPC` setting's price for
the same channel (or campaign), so the setting is the default that the
dashboard overrides. Prices are in `EARNED_CPC_CURRENCY`; a stored price
in another currency (the setting changed since) is listed but not used.
"""

import re
from datetime import datetime
from decimal import Decimal

from sqlite_utils import Database

from shortener.clock import to_db
from shortener.db import immediate

from .money import MoneyError, check_currency

MICROS = 6  # decimal places a price keeps
PRICE_TEXT = re.compile(r"[0-9]{1,7}(\.[0-9]{1,6})?")  # below 10^7 a click
CHANNEL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")  # as a link's channel
FIELDS = ("channel", "campaign", "price", "currency")
COLUMNS = "id, channel, campaign, price_micros, currency, updated_at"


class PriceError(ValueError):
    """Refused input; `field` names what is wrong."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


def to_micros(text) -> int:
    """ "0.80" -> 800000; anything but plain decimal text with at most six
    decimal places is refused."""
    if isinstance(text, bool) or not isinstance(text, str | int | Decimal):
        raise PriceError('price must be decimal text such as "0.80"', "price")
    value = str(text).strip()
    if not PRICE_TEXT.fullmatch(value):
        raise PriceError(
            'price must be decimal text such as "0.80": not negative, below 10000000,'
            " at most 6 decimal places",
            "price",
        )
    return int(Decimal(value).scaleb(MICROS))


def price_text(micros: int) -> str:
    """800000 -> "0.80", 125000 -> "0.125": at least two decimals."""
    text = str(Decimal(micros).scaleb(-MICROS).quantize(Decimal(1).scaleb(-MICROS)))
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction.ljust(2, '0')}"


def parse_price(fields: dict, default_currency: str) -> dict:
    """{channel, campaign, price_micros, currency} from client input;
    PriceError names the first field at fault."""
    if not isinstance(fields, dict):
        raise PriceError("body must be a JSON object", "body")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise PriceError(f"unknown field {unknown[0]}; allowed: {', '.join(FIELDS)}", unknown[0])
    channel = fields.get("channel")
    channel = channel.strip().lower() if isinstance(channel, str) else None
    if not channel or not CHANNEL.fullmatch(channel):
        raise PriceError(
            "channel must be 1-40 lower-case letters, digits, '.', '-' or '_'", "channel"
        )
    campaign = fields.get("campaign")
    if campaign is not None and not isinstance(campaign, str):
        raise PriceError("campaign must be a string or null", "campaign")
    campaign = (campaign or "").strip()
    if len(campaign) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in campaign):
        raise PriceError(
            "campaign must be at most 200 characters without control characters", "campaign"
        )
    try:
        currency = check_currency(fields.get("currency") or default_currency)
    except MoneyError as e:
        raise PriceError(str(e), "currency") from None
    if "price" not in fields:
        raise PriceError("price is required", "price")
    return {
        "channel": channel,
        "campaign": campaign,
        "price_micros": to_micros(fields["price"]),
        "currency": currency,
    }


def set_price(db: Database, price: dict, now: datetime) -> tuple[dict, bool]:
    """Store a price, replacing the channel's (or campaign's) own; (the row,
    whether it is new)."""
    with immediate(db):
        found = get_by_key(db, price["channel"], price["campaign"])
        db.execute(
            "INSERT INTO earned_prices (channel, campaign, price_micros, currency, updated_at)"
            " VALUES (:channel, :campaign, :price_micros, :currency, :now)"
            " ON CONFLICT (channel, campaign) DO UPDATE SET price_micros = excluded.price_micros,"
            " currency = excluded.currency, updated_at = excluded.updated_at",
            {**price, "now": to_db(now)},
        )
    return get_by_key(db, price["channel"], price["campaign"]), found is None


def get_by_key(db: Database, channel: str, campaign: str) -> dict | None:
    return next(
        db.query(
            f"SELECT {COLUMNS} FROM earned_prices WHERE channel = ? AND campaign = ?",
            [channel, campaign],
        ),
        None,
    )


def get_price(db: Database, price_id: int) -> dict | None:
    return next(db.query(f"SELECT {COLUMNS} FROM earned_prices WHERE id = ?", [price_id]), None)


def delete_price(db: Database, price_id: int) -> bool:
    with immediate(db):
        return db.execute("DELETE FROM earned_prices WHERE id = ?", [price_id]).rowcount > 0


def list_prices(db: Database) -> list[dict]:
    return list(db.query(f"SELECT {COLUMNS} FROM earned_prices ORDER BY channel, campaign"))


def public(row: dict) -> dict:
    return {
        "id": row["id"],
        "channel": row["channel"],
        "campaign": row["campaign"] or None,
        "price": price_text(row["price_micros"]),
        "currency": row["currency"],
        "updated_at": row["updated_at"],
    }


def stored_prices(db: Database, currency: str) -> dict:
    """{channel or (channel, campaign): Decimal price} of the stored prices
    in `currency`, keyed as the EARNED_CPC setting's prices are."""
    prices = {}
    for row in list_prices(db):
        if row["currency"] != currency:
            continue
        key = (row["channel"], row["campaign"]) if row["campaign"] else row["channel"]
        prices[key] = Decimal(price_text(row["price_micros"]))
    return prices
