from django.contrib import admin

from .models import EnforcementReferral


@admin.register(EnforcementReferral)
class EnforcementReferralAdmin(admin.ModelAdmin):
    """Read-only: referrals are prepared and decided on the merchant pages, where the four-eyes
    rule and the timeline records are kept."""

    list_display = ["number", "merchant_name", "authority", "state", "prepared_at", "decided_at"]
    list_filter = ["state", "authority"]
    search_fields = ["number", "merchant_name", "merchant_key"]
    exclude = ["pdf", "disputes"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
