"""What advocates do when the parts below them change something: each
receiver is connected to a signal of `shortener.signals` or
`conversions.signals` by `advocates.connect_receivers`, is called with the
database the change was made in, and runs in the transaction the signal is
sent from."""

from . import people, rewards


def follow_source_link(db, *, code, changed):
    """Personal links keep their source link's destination, expiry, etc."""
    people.follow_source(db, code, changed)


def assess_rewards(db, *, conversion, replaced):
    """A friend converted on a personal link: assessed in the conversion's
    own transaction (again, on the webhook's word, when `replaced`)."""
    rewards.on_conversion(db, conversion, replaced=replaced)


def void_pending_rewards(db, *, conversion_id, now, reason, refunded_at) -> int:
    """The conversion is refunded as the ledger knows it; returns how many
    pending rewards that voided."""
    done = rewards.refund(db, conversion_id, now, reason, refunded_at)
    return len(done["voided"])


def forget_person(db, *, visitors, customer_id, conversions):
    """An advocate who is the erased person is anonymised; the erased
    conversions refer no one."""
    people.forget(db, visitors, customer_id, conversions)


def advocate_id(db, *, key) -> int | None:
    """The id of the advocate a cost names by id or handle, or None."""
    advocate = people.get_advocate(db, key)
    return advocate["id"] if advocate else None


def advocate_handles(db, *, ids) -> dict[int, str]:
    """{id: handle} of the advocates that costs name."""
    return people.handles(db, ids)
