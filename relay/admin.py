"""Staff see every packet, its state and last error, and retry dead letters by hand."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from odr.errors import DomainError

from . import outbox
from .models import InboundPacket, InboundStream, InboxRefusal, OutboundPacket


@admin.register(OutboundPacket)
class OutboundPacketAdmin(admin.ModelAdmin):
    list_display = [
        "pid",
        "type",
        "recipient",
        "dispute_reference",
        "seq",
        "state",
        "attempts",
        "next_attempt_at",
        "receipt_code",
        "short_error",
        "created_at",
    ]
    list_filter = ["state", "type", "recipient", "receipt_status"]
    search_fields = ["pid", "dispute_reference", "mou_reference", "last_error", "receipt_code"]
    date_hierarchy = "created_at"
    actions = ["retry_packets"]
    exclude = ["body", "sealed"]
    readonly_fields = [
        field.name
        for field in OutboundPacket._meta.fields
        if field.name not in ("body", "sealed", "id")
    ]

    @admin.display(description=_("last error"))
    def short_error(self, packet: OutboundPacket) -> str:
        return packet.last_error[:120]

    @admin.action(
        description=_("Retry the selected dead-lettered or refused packets"),
        permissions=["change"],
    )
    def retry_packets(self, request, queryset):
        retried, skipped = 0, 0
        for packet in queryset:
            try:
                outbox.retry_packet(packet)
                retried += 1
            except DomainError:
                skipped += 1
        if retried:
            self.message_user(
                request,
                ngettext("%(n)d packet queued again.", "%(n)d packets queued again.", retried)
                % {"n": retried},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)d packet was skipped: only dead-lettered or refused packets are retried.",
                    "%(n)d packets were skipped: only dead-lettered or refused packets are "
                    "retried.",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # The outbox is the record of what was sent; it is never edited or deleted by hand.
        return False


@admin.register(InboundPacket)
class InboundPacketAdmin(admin.ModelAdmin):
    list_display = [
        "pid",
        "type",
        "sender",
        "dispute_reference",
        "seq",
        "state",
        "code",
        "received_at",
        "applied_at",
    ]
    list_filter = ["state", "type", "sender", "code"]
    search_fields = ["pid", "dispute_reference", "code", "detail"]
    date_hierarchy = "received_at"
    exclude = ["signed"]
    readonly_fields = [f.name for f in InboundPacket._meta.fields if f.name not in ("signed", "id")]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InboxRefusal)
class InboxRefusalAdmin(admin.ModelAdmin):
    list_display = ["received_at", "code", "http_status", "sender_code", "pid", "type", "size"]
    list_filter = ["code", "authenticated", "sender_code"]
    search_fields = ["pid", "raw_sha256", "dispute_reference", "detail"]
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in InboxRefusal._meta.fields if f.name != "id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InboundStream)
class InboundStreamAdmin(admin.ModelAdmin):
    list_display = ["sender", "dispute_reference", "last_seq"]
    search_fields = ["dispute_reference"]
    list_filter = ["sender"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


from . import admin_partners  # noqa: E402, F401  (partner cards, pings over the agencies admin)
