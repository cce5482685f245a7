from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        from disputes.events import timeline_event_recorded

        from .signals import on_timeline_event

        timeline_event_recorded.connect(on_timeline_event, dispatch_uid="audit.changes")
