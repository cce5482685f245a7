from django.contrib import admin

from odr.admin import ReadOnlyModelAdmin

from .models import EnforcementReferral


@admin.register(EnforcementReferral)
class EnforcementReferralAdmin(ReadOnlyModelAdmin):
    """Read-only: referrals are prepared and decided on the merchant pages, where the four-eyes
    rule and the timeline records are kept."""

    list_display = ["number", "merchant_name", "authority", "state", "prepared_at", "decided_at"]
    list_filter = ["state", "authority"]
    search_fields = ["number", "merchant_name", "merchant_key"]
    exclude = ["pdf", "disputes"]
