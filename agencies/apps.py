from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = _("Agencies and MoUs")

    def ready(self):
        # Connects the signals that clear the per-process cache of reference rows, in every
        # process, including those that change them and never read them.
        from . import refcache  # noqa: F401

        # The staff roles exist on every node, whatever was migrated or flushed (tests).
        post_migrate.connect(_ensure_roles, dispatch_uid="agencies.roles")


def _ensure_roles(**kwargs) -> None:
    from .roles import ensure_roles

    ensure_roles()
