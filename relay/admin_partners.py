"""Partners in the admin: download this node's card, upload a partner's, compare the key
thumbprints and confirm the partner; the connectivity check (ping) of an MoU. Registered over
agencies' AgencyAdmin and MoUAdmin (cards and pings live in the relay, which the agencies app
must not import)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from agencies.admin import AgencyAdmin, MoUAdmin
from agencies.models import Agency, MoU
from agencies.selectors import this_agency
from odr.errors import DomainError

from . import cards
from .partners import send_ping


class CardUploadForm(forms.Form):
    card = forms.FileField(
        label=_("Partner card"),
        help_text=_("The JSON file the partner sent, or saved from their odr-partner.json."),
    )

    def clean_card(self):
        upload = self.cleaned_data["card"]
        if upload.size > cards.MAX_CARD_BYTES:
            raise forms.ValidationError(
                _("A partner card is at most %(size)s bytes.") % {"size": cards.MAX_CARD_BYTES}
            )
        return upload.read()


admin.site.unregister(Agency)


@admin.register(Agency)
class PartnerAgencyAdmin(AgencyAdmin):
    change_list_template = "admin/agencies/agency/change_list_cards.html"
    actions = ["confirm_partners"]

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "key_thumbprints"]
        if obj is not None and obj.status == Agency.Status.PROSPECTIVE:
            fields.append("status")  # only confirmation, after the thumbprints, ends it
        return fields

    @admin.display(description=_("Key thumbprints (RFC 7638)"))
    def key_thumbprints(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        rows = cards.key_thumbprints(obj)
        if not rows:
            return _("No valid keys pinned.")
        return format_html(
            '<ul class="key-thumbprints">{}</ul>',
            format_html_join(
                "",
                "<li>{} <code>{}</code><br><code class='thumbprint'>{}</code></li>",
                ((use, kid, cards.grouped(value)) for use, kid, value in rows),
            ),
        )

    def get_urls(self):
        extra = [
            path(
                "import-card/",
                self.admin_site.admin_view(self.import_card_view),
                name="agencies_agency_import_card",
            ),
            path(
                "partner-card.json",
                self.admin_site.admin_view(self.download_card_view),
                name="agencies_agency_partner_card",
            ),
        ]
        return extra + super().get_urls()

    def download_card_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        card = cards.own_card()
        response = HttpResponse(
            json.dumps(card, indent=2, ensure_ascii=False), content_type="application/json"
        )
        filename = f"{card['agency']['code']}.odr-partner.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def import_card_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CardUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                imported = cards.import_partner_card(form.cleaned_data["card"])
            except DomainError as error:
                form.add_error("card", error.message)
            else:
                agency = imported.agency
                self.log_addition(request, agency, [{"added": {}}])
                self.message_user(
                    request,
                    _(
                        "%(code)s is stored as prospective. Compare the key thumbprints below "
                        "with the partner by phone or letter, then confirm the partner."
                    )
                    % {"code": agency.code},
                    messages.WARNING,
                )
                return redirect(reverse("admin:agencies_agency_change", args=[agency.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import a partner card"),
            "form": form,
        }
        return TemplateResponse(request, "admin/agencies/agency/import_card.html", context)

    @admin.action(description=_("Confirm the selected partners (key thumbprints compared)"))
    def confirm_partners(self, request, queryset):
        for agency in queryset:
            try:
                cards.confirm_partner(agency, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{agency.code}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(code)s confirmed.") % {"code": agency.code},
                    messages.SUCCESS,
                )


admin.site.unregister(MoU)


@admin.register(MoU)
class PartnerMoUAdmin(MoUAdmin):
    actions = ["ping", *MoUAdmin.actions]
    change_list_template = "admin/agencies/mou/change_list_guided.html"

    def get_urls(self):
        from .admin_new_mou import new_mou_view

        view = self.admin_site.admin_view(lambda request: new_mou_view(self, request))
        return [path("new/", view, name="agencies_mou_new"), *super().get_urls()]

    @admin.action(description=_("Connectivity check: send a signed ping to the partner"))
    def ping(self, request, queryset):
        here = this_agency()
        for mou in queryset:
            try:
                packet = send_ping(mou.partner_of(here).code, mou_reference=mou.reference)
            except (DomainError, ValueError) as error:
                self.message_user(
                    request, f"{mou}: {getattr(error, 'message', error)}", messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    _(
                        "%(mou)s: ping %(pid)s queued. Reload this page: the partner's signed "
                        "answer and the round-trip time show on the MoU."
                    )
                    % {"mou": mou.reference, "pid": packet.pid},
                    messages.SUCCESS,
                )
