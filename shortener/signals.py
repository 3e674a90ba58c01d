"""What the links part tells the parts above it without importing them.

Blinker signals, the idiom Flask uses for its own. The sender is the
database the change was made in, not the app: a conversion stored from a
script, a bench or a worker thread must reach the same receivers as one
stored by a request. The composition root (`shortener.app`) connects every
part's receivers once, for any sender, when it is imported; a signal sent
before that raises rather than reaching no one.
"""

from blinker import Namespace

_signals = Namespace()

# A link's editable fields were just changed (`changed`: the fields the
# caller gave), in the caller's transaction: the links shared from it follow.
link_updated = _signals.signal("link-updated")

# Links are about to be read in order of their click counts (`db`: the
# connection): the part that keeps those counts brings them up to date.
click_counts_read = _signals.signal("click-counts-read")


class NoReceivers(RuntimeError):
    """A signal was sent before the house was put together."""


def send(signal, *, db, **data) -> list:
    """Send `signal` from the database `db` with `data` as keyword arguments;
    each receiver is called as `receiver(db, **data)`. Returns the receivers'
    (receiver, answer) pairs. Every signal of the house has a receiver once
    `shortener.app` is imported, so none means a caller that never loaded
    the house: refused, because a reward or an anonymisation silently not
    done is worse than an error."""
    if not signal.receivers:
        raise NoReceivers(
            f"signal {signal.name!r} has no receiver: import shortener.app "
            "(it connects every part's receivers) before changing the database"
        )
    return signal.send(db, **data)
