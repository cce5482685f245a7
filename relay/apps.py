from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelayConfig(AppConfig):
    name = "relay"
    verbose_name = _("Relay")

    def ready(self):
        # Connects the signals that clear the per-process cache of agencies, keys and MoUs, in
        # every process, including those that change them without sending packets.
        from . import refdata  # noqa: F401
