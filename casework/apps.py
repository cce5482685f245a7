from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("Casework")

    def seed_reference_data(self):
        """Called by agencies.seed.seed_reference_data: the roles, again after a database was
        emptied (migration 0002 creates them on every node)."""
        from .roles import ensure_roles

        ensure_roles()
