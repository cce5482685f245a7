from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelayConfig(AppConfig):
    name = "relay"
    verbose_name = _("Relay")

    def ready(self):
        from disputes.events import timeline_event_recorded

        from .outbox import on_timeline_event

        timeline_event_recorded.connect(on_timeline_event, dispatch_uid="relay.outbox")

        from agencies.signals import mou_status_changed

        from .partners import announce_mou_status

        mou_status_changed.connect(announce_mou_status, dispatch_uid="relay.announce_mou_status")

    def warm_up(self):
        """Compile the packet schemas before the first packet (see odr.warmup)."""
        from . import packets

        for name in (*packets.PACKET_TYPES, "envelope", "receipt"):
            packets.schema_validator(name)
            packets.fast_validator(name)
