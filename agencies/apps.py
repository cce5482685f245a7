from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = _("Agencies and MoUs")

    def ready(self):
        # Connects the signals that clear the per-process cache of reference rows, in every
        # process, including those that change them and never read them.
        from . import refcache  # noqa: F401
