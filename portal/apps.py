from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Consumer portal")

    def ready(self):
        from disputes.events import timeline_event_recorded

        from .notifications import on_timeline_event

        timeline_event_recorded.connect(on_timeline_event, dispatch_uid="portal.notifications")

    def warm_up(self):
        """Load the email templates before the first email (see odr.warmup)."""
        from django.template.loader import get_template

        for template in ("notification", "notification_subject"):
            get_template(f"portal/email/{template}.txt")
