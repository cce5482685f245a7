from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from odr.errors import DomainError

from . import services
from .models import ApiClient, ApiFiling, IdempotencyRecord, Scope


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ["name", "key_prefix", "agency", "scope_list", "is_active", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "agency", "is_active", "created_at", "last_used_at"]
    actions = ["issue_new_key", "deactivate"]

    @admin.display(description=_("scopes"))
    def scope_list(self, client):
        return ", ".join(client.scopes)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            client, key = services.create_client(obj.name, form.cleaned_data["scopes"])
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = client.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            _("The key of %(name)s, shown only this once: %(key)s")
            % {"name": client.name, "key": key},
            messages.WARNING,
        )

    @admin.action(description=_("Issue a new key (the old one stops working)"))
    def issue_new_key(self, request, queryset):
        for client in queryset:
            key = services.rotate_key(client)
            self.message_user(
                request,
                _("The new key of %(name)s, shown only this once: %(key)s")
                % {"name": client.name, "key": key},
                messages.WARNING,
            )

    @admin.action(description=_("Deactivate: refuse the client's key"))
    def deactivate(self, request, queryset):
        count = 0
        for client in queryset:
            services.revoke_client(client)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d client deactivated.", "%(count)d clients deactivated.", count)
            % {"count": count},
        )


@admin.register(ApiFiling)
class ApiFilingAdmin(admin.ModelAdmin):
    list_display = ["dispute", "client", "created_at"]
    list_select_related = ["dispute", "client"]
    list_filter = ["client"]
    search_fields = ["dispute__reference", "client__name", "client__key_prefix"]
    readonly_fields = ["dispute", "client", "created_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["client", "key", "method", "path", "response_status", "created_at"]
    list_filter = ["client"]
    search_fields = ["key", "path", "client__name"]
    readonly_fields = [field.name for field in IdempotencyRecord._meta.fields]
