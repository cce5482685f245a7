from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        # Every change to a dispute writes a timeline event; each one is also written here.
        from . import signals  # noqa: F401
