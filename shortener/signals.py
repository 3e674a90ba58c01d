"""What the links part tells the parts above it without importing them.

Blinker signals, the idiom Flask uses for its own: the part above connects
its receivers in its `init_app` for that one app
(`signal.connect(fn, sender=app, weak=False)`), and `send` sends from the
running app, so two apps in one process never hear each other.
"""

from blinker import Namespace
from flask import current_app, has_app_context

_signals = Namespace()

# A link's editable fields were just changed (`changed`: the fields the
# caller gave), in the caller's transaction: the links shared from it follow.
link_updated = _signals.signal("link-updated")

# Links are about to be read in order of their click counts (`db`: the
# connection): the part that keeps those counts brings them up to date.
click_counts_read = _signals.signal("click-counts-read")


def send(signal, **data) -> list:
    """Send `signal` from the running app with `data` as keyword arguments;
    returns the receivers' (receiver, answer) pairs. Outside an app (a script
    or a test writing through a bare connection) no part above has been put
    together with this one, so there is no one to tell."""
    if not has_app_context():
        return []
    return signal.send(current_app._get_current_object(), **data)
