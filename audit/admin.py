"""The audit trail in the admin: read-only; and the admin's dispute page logs its reads too."""

from __future__ import annotations

from django.contrib import admin

from disputes.models import Dispute
from odr.admin import ReadOnlyModelAdmin

from .models import AuditEntry
from .services import record_read


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "at", "actor", "action", "object_type", "object_ref", "detail"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_ref", "actor"]


# The disputes app's admin (registered before this app's, INSTALLED_APPS order) with one more
# duty: opening a dispute there is a read of its personal data like any other staff page.
DisputeAdmin = type(admin.site._registry[Dispute])


class AuditedDisputeAdmin(DisputeAdmin):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        dispute = Dispute.objects.filter(pk=object_id).only("pk", "reference").first()
        if response.status_code == 200 and dispute is not None:
            record_read(request.user, dispute, "admin page")
        return response


admin.site.unregister(Dispute)
admin.site.register(Dispute, AuditedDisputeAdmin)
