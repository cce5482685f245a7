"""Drafts are deliberately not in the admin: their answers are the consumer's until sent."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: operators check what was emailed and what still waits for a retry."""

    list_display = [
        "dispute",
        "kind",
        "language",
        "created_at",
        "sent_at",
        "attempts",
        "next_attempt_at",
        "short_error",
    ]
    list_filter = ["kind", "sent_at"]
    search_fields = ["dispute__reference"]
    readonly_fields = [field.name for field in Notification._meta.fields]

    @admin.display(description=_("last error"))
    def short_error(self, notification: Notification) -> str:
        return notification.last_error[:120]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
