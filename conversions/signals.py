"""What conversions tell the parts above them without importing them.

Sent with `shortener.signals.send` from the database the change was made
in; the part above connects its receivers once, for any database, when the
composition root (`shortener.app`) is loaded.
"""

from blinker import Namespace

_signals = Namespace()

# A conversion was just stored (`conversion`: its row, credits written), or
# its pixel row became the webhook's (`replaced=True`): sent inside the
# conversion's own transaction, so what a receiver writes is stored with it
# or not at all. A receiver's failure must not lose the conversion: it
# undoes its own writes (a savepoint) and logs rather than raising.
conversion_stored = _signals.signal("conversion-stored")

# A shop's refunds of a conversion now add up to its whole value: sent after
# the refund is stored, and again for each later refund event (a retry mends
# a crash between the two). Keyword arguments: `conversion_id`, `now`,
# `reason`, `refunded_at`. A receiver answers with how many of its pending
# entries (an advocate's rewards) the refund voided, for the shop's log.
conversion_refunded = _signals.signal("conversion-refunded")

# A person's data is about to be erased: sent inside the erasure's
# transaction before any row is deleted, with their `visitors` (ids),
# `customer_id` and the ids of the `conversions` that go, so whatever refers
# to them is anonymised in the same transaction.
erasing_person = _signals.signal("erasing-person")

# A record of this part (a cost, a creator's fee) names an advocate by `key`,
# an id or a handle as the client wrote it: the part that keeps advocates
# answers their id, or None for no such advocate.
advocate_named = _signals.signal("advocate-named")

# Rows of this part that name advocates by id (`ids`) are about to be shown:
# the part that keeps advocates answers {id: handle}.
advocates_shown = _signals.signal("advocates-shown")
