from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("Intake API")

    def ready(self):
        # The schema extensions (reference codes, amounts) register themselves on import.
        from . import schema  # noqa: F401
