from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from odr.errors import DomainError

from . import services
from .models import (
    Agency,
    AgencyKey,
    Category,
    Country,
    DomesticBody,
    ExchangeRate,
    MoU,
    MoUStatusChange,
    PublicHoliday,
)


class PublicHolidayInline(admin.TabularInline):
    model = PublicHoliday
    extra = 0


@admin.register(Country)
class CountryAdmin(TranslationAdmin):
    list_display = ["code", "name", "currency", "timezone"]
    search_fields = ["code", "name", "currency"]
    inlines = [PublicHolidayInline]


@admin.register(PublicHoliday)
class PublicHolidayAdmin(TranslationAdmin):
    list_display = ["date", "name", "country"]
    list_filter = ["country"]
    search_fields = ["name"]
    date_hierarchy = "date"


@admin.register(Category)
class CategoryAdmin(TranslationAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(DomesticBody)
class DomesticBodyAdmin(TranslationAdmin):
    list_display = ["code", "name", "country", "kind", "handles_adjudication"]
    list_filter = ["country", "kind", "handles_adjudication"]
    search_fields = ["code", "name"]


class AgencyKeyInline(admin.TabularInline):
    model = AgencyKey
    extra = 0
    fields = ["kid", "use", "not_before", "not_after", "revoked_at"]
    readonly_fields = ["kid", "use"]
    can_delete = False
    show_change_link = True


@admin.register(Agency)
class AgencyAdmin(TranslationAdmin):
    list_display = ["code", "short_name", "name", "country", "status", "inbox_url"]
    list_filter = ["status", "country"]
    search_fields = ["code", "short_name", "name", "contact_email"]
    inlines = [AgencyKeyInline]


@admin.register(AgencyKey)
class AgencyKeyAdmin(admin.ModelAdmin):
    list_display = ["kid", "agency", "use", "not_before", "not_after", "revoked_at"]
    list_filter = ["use", "agency"]
    search_fields = ["kid", "agency__code"]
    readonly_fields = ["public_jwk", "created_at"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            services.revoke_agency_key(key)
        self.message_user(request, _("Keys revoked."), messages.SUCCESS)


class MoUStatusChangeInline(admin.TabularInline):
    model = MoUStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at", "note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MoU)
class MoUAdmin(admin.ModelAdmin):
    list_display = ["reference", "agency_a", "agency_b", "status", "signed_on", "effective_from"]
    list_filter = ["status", "agency_a", "agency_b"]
    search_fields = ["reference", "title", "agency_a__code", "agency_b__code"]
    filter_horizontal = ["categories"]
    readonly_fields = ["status"]
    inlines = [MoUStatusChangeInline]
    actions = ["activate", "suspend", "terminate"]

    def _change_status(self, request, queryset, status):
        for mou in queryset:
            try:
                services.change_mou_status(mou, status, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{mou.reference}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{mou.reference}: {status}", messages.SUCCESS)

    @admin.action(description=_("Activate the selected MoUs"))
    def activate(self, request, queryset):
        self._change_status(request, queryset, MoU.Status.ACTIVE)

    @admin.action(description=_("Suspend the selected MoUs"))
    def suspend(self, request, queryset):
        self._change_status(request, queryset, MoU.Status.SUSPENDED)

    @admin.action(description=_("Terminate the selected MoUs"))
    def terminate(self, request, queryset):
        self._change_status(request, queryset, MoU.Status.TERMINATED)

    def save_model(self, request, obj, form, change):
        # Keep the pair in canonical order whichever agency the administrator chose first.
        if obj.agency_a_id and obj.agency_b_id and obj.agency_a_id > obj.agency_b_id:
            obj.agency_a_id, obj.agency_b_id = obj.agency_b_id, obj.agency_a_id
        super().save_model(request, obj, form, change)
        if not change:
            MoUStatusChange.objects.create(
                mou=obj, from_status="", to_status=obj.status, changed_by=request.user
            )


@admin.register(MoUStatusChange)
class MoUStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["mou", "from_status", "to_status", "changed_by", "changed_at"]
    list_filter = ["to_status"]
    search_fields = ["mou__reference", "note"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "per_usd", "as_of"]
    list_filter = ["currency"]
    search_fields = ["currency"]
