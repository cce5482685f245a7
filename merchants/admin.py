from django.contrib import admin

from .models import MerchantNotice


@admin.register(MerchantNotice)
class MerchantNoticeAdmin(admin.ModelAdmin):
    """Emails to merchants: what was sent, when, and the last error of one that was not."""

    list_display = ["dispute", "kind", "email", "language", "created_at", "sent_at", "attempts"]
    list_filter = ["kind", "language"]
    search_fields = ["dispute__reference", "email"]
    readonly_fields = [field.name for field in MerchantNotice._meta.fields]

    def has_add_permission(self, request):
        return False
