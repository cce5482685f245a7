from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Staff accounts")

    def ready(self):
        # Records each staff sign-in's session, so deactivation can end it.
        from . import signals  # noqa: F401
