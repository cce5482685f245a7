"""Drafts are deliberately not in the admin: their answers are the consumer's until sent."""

from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: operators check what was emailed and what still waits for a retry."""

    list_display = ["dispute", "kind", "language", "created_at", "sent_at", "attempts"]
    list_filter = ["kind", "sent_at"]
    search_fields = ["dispute__reference"]
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
