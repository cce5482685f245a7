from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = _("Disputes")

    def ready(self):
        from agencies import refcache

        from .models import ProblemType, Remedy

        # Code lists kept by agencies.refcache, like the agencies' own.
        refcache.watch(ProblemType)
        refcache.watch(Remedy)

    def seed_reference_data(self):
        """Called by agencies.seed.seed_reference_data (``manage.py seed_agencies``)."""
        from .seed import seed_code_lists

        seed_code_lists()
