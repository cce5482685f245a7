from django.contrib import admin
from modeltranslation.admin import TranslationAdmin

from .models import (
    Dispute,
    Evidence,
    Merchant,
    Message,
    MessageTranslation,
    ProblemType,
    Rating,
    ReferenceCounter,
    Remedy,
    TimelineEvent,
)


@admin.register(ProblemType)
class ProblemTypeAdmin(TranslationAdmin):
    list_display = ["code", "name", "position"]
    search_fields = ["code", "name"]


@admin.register(Remedy)
class RemedyAdmin(TranslationAdmin):
    list_display = ["code", "name", "position"]
    search_fields = ["code", "name"]


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 0
    can_delete = False
    fields = ["original_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    extra = 0
    can_delete = False
    fields = ["at", "actor", "actor_name", "kind", "from_status", "to_status", "text", "language"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    """Read-mostly: the lifecycle moves only through the services, never by editing a status."""

    list_display = [
        "reference",
        "status",
        "home_agency",
        "partner_agency",
        "merchant_name",
        "amount",
        "currency",
        "filed_at",
    ]
    list_filter = [
        "status",
        "home_agency",
        "partner_agency",
        "intake_channel",
        "category",
        "merchant_country",
        "filing_language",
    ]
    search_fields = [
        "reference",
        "consumer_name",
        "consumer_email",
        "merchant_name",
        "merchant_website",
        "order_number",
    ]
    date_hierarchy = "filed_at"
    readonly_fields = [
        "reference",
        "status",
        "status_changed_at",
        "home_agency",
        "partner_agency",
        "mou",
        "filed_at",
        "review_due_on",
        "acknowledge_due_on",
        "merchant_contact_due_on",
        "resolution_due_on",
        "tracking_link_version",
    ]
    filter_horizontal = ["problem_types"]
    inlines = [EvidenceInline, TimelineInline]

    def has_add_permission(self, request):
        return False


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = ["original_name", "dispute", "content_type", "size", "uploaded_by"]
    list_filter = ["content_type", "uploaded_by"]
    search_fields = ["original_name", "sha256", "dispute__reference"]
    readonly_fields = ["dispute", "file", "sha256", "size", "content_type"]


class MessageTranslationInline(admin.TabularInline):
    model = MessageTranslation
    extra = 0


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["dispute", "author_kind", "author_name", "language", "sent_at"]
    list_filter = ["author_kind", "language", "visible_to_consumer"]
    search_fields = ["dispute__reference", "body", "author_name"]
    inlines = [MessageTranslationInline]


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["dispute", "at", "actor", "kind", "from_status", "to_status"]
    list_filter = ["kind", "actor", "to_status"]
    search_fields = ["dispute__reference", "text", "actor_name"]
    date_hierarchy = "at"


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(admin.ModelAdmin):
    list_display = ["agency", "year", "last_number"]
    list_filter = ["agency", "year"]
    search_fields = ["agency__code"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "contact_email", "language", "country"]
    search_fields = ["name", "key", "contact_email"]
    list_filter = ["country", "language"]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["dispute", "aspect", "score", "rated_at"]
    list_filter = ["aspect", "score"]
    search_fields = ["dispute__reference", "comment"]
    readonly_fields = ["dispute", "aspect", "score", "comment", "language", "rated_at"]

    def has_add_permission(self, request):
        return False
