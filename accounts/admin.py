"""Invitations and staff accounts in the admin; every change goes through accounts.services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from odr.errors import DomainError

from . import services
from .forms import InvitationForm
from .models import Invitation

User = get_user_model()


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "accepted_at", "withdrawn_at"]
    search_fields = ["email", "user__username"]
    readonly_fields = [
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "user",
        "withdrawn_at",
    ]
    actions = ["withdraw"]

    form = InvitationForm

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["email", "role"]
        return ["email", "role", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["email", "role", *self.readonly_fields]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        invitation = services.invite_staff(
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
        )
        for field in Invitation._meta.concrete_fields:
            setattr(obj, field.attname, getattr(invitation, field.attname))

    def save_related(self, request, form, formsets, change):
        """The invitation has no relations to save."""

    @admin.action(description=_("Withdraw the selected invitations"))
    def withdraw(self, request, queryset):
        for invitation in queryset:
            services.withdraw_invitation(invitation)
        self.message_user(request, _("Withdrawn."), messages.SUCCESS)


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    actions = ["deactivate"]

    @admin.action(description=_("Deactivate the selected accounts and end their sessions"))
    def deactivate(self, request, queryset):
        for user in queryset:
            try:
                services.deactivate_staff(user, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{user}: {error.message}", messages.ERROR)
        self.message_user(request, _("Done."), messages.SUCCESS)
