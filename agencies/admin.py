import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
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
from .selectors import onboarding_state


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the history and told to the partner."),
    )
    grace_days = forms.IntegerField(
        label=_("Days that packets for open cases are still accepted"),
        min_value=0,
        max_value=365,
        initial=30,
        required=False,
    )


def with_reason(model_admin, request, queryset, *, title, apply, done, warning="", grace=False):
    """An admin action that first asks why (and, for a termination, for how long packets of
    open cases are still accepted), then applies a service function to each selected row."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if not grace:
        del form.fields["grace_days"]
    if "apply" in request.POST and form.is_valid():
        days = form.cleaned_data.get("grace_days") or 0
        for obj in queryset:
            try:
                apply(obj, form.cleaned_data["reason"], dt.timedelta(days=days))
            except DomainError as error:
                model_admin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
            else:
                model_admin.message_user(request, f"{obj}: {done}", messages.SUCCESS)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "queryset": queryset,
        "form": form,
        "warning": warning,
        "action": request.POST.get("action"),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/agencies/with_reason.html", context)


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
    readonly_fields = ["public_jwk", "created_at", "revoked_at", "revocation_reason"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        return with_reason(
            self,
            request,
            queryset,
            title=_("Revoke keys"),
            warning=_(
                "Packets signed with these keys are refused from now on, even those already on "
                "their way or waiting in the inbox. This cannot be undone."
            ),
            apply=lambda key, reason, grace: services.revoke_agency_key(key, reason=reason),
            done=_("Keys revoked."),
        )


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
    readonly_fields = [
        "status",
        "onboarding_state",
        "last_pong_at",
        "last_ping_rtt_ms",
        "partner_state",
        "partner_state_reason",
        "partner_state_at",
        "packets_accepted_until",
    ]
    inlines = [MoUStatusChangeInline]
    actions = ["activate", "suspend", "resume", "terminate"]

    @admin.display(description=_("onboarding state"))
    def onboarding_state(self, obj):
        return onboarding_state(obj) if obj.pk else "-"

    def _change(self, request, queryset, title, apply, *, grace=False):
        return with_reason(
            self,
            request,
            queryset,
            title=title,
            apply=apply,
            grace=grace,
            done=_("Done."),
        )

    @admin.action(description=_("Activate the selected MoUs"))
    def activate(self, request, queryset):
        return self._change(
            request,
            queryset,
            _("Activate MoUs"),
            lambda mou, reason, grace: services.activate_mou(mou, by=request.user, reason=reason),
        )

    @admin.action(description=_("Suspend the selected MoUs"))
    def suspend(self, request, queryset):
        return self._change(
            request,
            queryset,
            _("Suspend MoUs"),
            lambda mou, reason, grace: services.suspend_mou(mou, by=request.user, reason=reason),
        )

    @admin.action(description=_("Resume the selected MoUs"))
    def resume(self, request, queryset):
        return self._change(
            request,
            queryset,
            _("Resume MoUs"),
            lambda mou, reason, grace: services.resume_mou(mou, by=request.user, reason=reason),
        )

    @admin.action(description=_("Terminate the selected MoUs"))
    def terminate(self, request, queryset):
        return self._change(
            request,
            queryset,
            _("Terminate MoUs"),
            lambda mou, reason, grace: services.terminate_mou(
                mou, by=request.user, reason=reason, grace=grace
            ),
            grace=True,
        )

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
