"""Signals the domain sends for apps above it (they depend on disputes, never the reverse).

``merchant_link_issued`` is sent inside the transaction that issued a merchant link (an
invitation, a resend or a reminder), with ``dispute`` and ``kind`` ("invitation" or "reminder").
A receiver that writes rows writes them in that transaction; anything else waits for commit.
"""

from django.dispatch import Signal

merchant_link_issued = Signal()
