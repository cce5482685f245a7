from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = _("Merchants")

    def ready(self):
        from disputes.events import merchant_link_issued

        from .services import on_merchant_link_issued

        merchant_link_issued.connect(on_merchant_link_issued, dispatch_uid="merchants.notice")
