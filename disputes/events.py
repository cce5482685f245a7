"""The one boundary through which the domain tells other apps what happened to a dispute.

``timeline_event_recorded`` is sent by ``services.timeline.record_event`` for every timeline
event, synchronously and inside the transaction that wrote the change. Listeners connect in
their ``AppConfig.ready`` (the relay writes an outgoing case packet, the portal a consumer
notification) and write their rows in that same transaction: a change and what it sets off
commit or roll back together. A listener that raises takes the change back with it. Anything
slow or external (HTTP, email, the broker) is done after commit by the listener's own task.

Arguments: ``event`` (a ``TimelineEvent``; ``event.subject_message`` is the message of a message
event, when the service had it in hand) and ``share_with_partner`` (False for a change applied
from the partner's own packet, or one the service marks as local only).

``merchant_link_issued`` is sent inside the transaction that issued a merchant's link (an
invitation, a resend, a reminder), with ``dispute`` and ``kind`` ("invitation" or "reminder"):
the app that emails merchants writes its row in that transaction and sends after commit.

The domain imports none of its listeners, so ``disputes`` never depends on ``relay`` or
``portal`` (tests/test_architecture.py checks the whole import graph).
"""

from django.dispatch import Signal

timeline_event_recorded = Signal()
merchant_link_issued = Signal()
