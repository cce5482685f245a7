"""The merchant's pages, opened by the link in the merchant's email. Thin: forms clean input,
disputes.services change things, selectors read.

The link's token comes once, as ``?t=``: it is checked, the session remembers the case and the
link's version and expiry, and the browser is sent on to the case page, so the token is not in
later requests, in Referer headers or in the address bar. Every request checks the link again
(a revoked or replaced link stops at once). Every action is a form POST protected by CSRF.
"""

from __future__ import annotations

from pathlib import PurePath

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from disputes import services
from disputes.models import Dispute, RemedyKind
from odr.errors import DomainError

from . import forms, selectors
from .tokens import dispute_for_session, dispute_for_token, remember


def _private(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _language(request, dispute: Dispute | None) -> str:
    """The merchant's language, unless they chose another with the language switcher."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in dict(settings.LANGUAGES):
        return chosen
    if dispute is not None and dispute.merchant.language in dict(settings.LANGUAGES):
        return dispute.merchant.language
    return translation.get_language()


def _render(request, dispute, template, context, status=200):
    language = _language(request, dispute)
    request.LANGUAGE_CODE = language
    with translation.override(language):
        return _private(render(request, template, context, status=status))


def refused(request):
    return _render(request, None, "merchants/link_refused.html", {}, status=404)


@never_cache
@require_GET
def open_link(request):
    dispute, opened = dispute_for_token(request.GET.get("t", ""))
    if dispute is None:
        return refused(request)
    remember(request.session, opened)
    response = _private(redirect("merchants:case"))
    # The only address with the token: never sent on as a Referer. (Not on the case pages: a
    # browser sends "Origin: null" with a form under no-referrer, and CSRF refuses it.)
    response["Referrer-Policy"] = "no-referrer"
    return response


def _context(dispute: Dispute, language: str, **bound) -> dict:
    context = {
        "dispute": dispute,
        "merchant": dispute.merchant,
        "documents": selectors.merchant_documents(dispute),
        "answers": selectors.merchant_messages(dispute),
        "events": selectors.merchant_events(dispute),
        "problems": list(dispute.problem_types.all()),
        "account_translation": selectors.account_translation(dispute, language),
        "can_act": selectors.merchant_can_act(dispute),
        "can_confirm": selectors.merchant_can_confirm_performance(dispute),
        "remedy_label": RemedyKind(dispute.settlement_remedy).label
        if dispute.settlement_remedy
        else "",
    }
    for name, form_class in forms.ACTION_FORMS.items():
        context[f"{name}_form"] = bound.get(name) or form_class(auto_id=f"id_{name}_%s")
    return context


@never_cache
@require_GET
def case(request):
    dispute = dispute_for_session(request.session)
    if dispute is None:
        return refused(request)
    context = _context(dispute, _language(request, dispute))
    return _render(request, dispute, "merchants/case.html", context)


def _read(upload) -> bytes:
    # One byte past the limit: enough to refuse a file that is too big without holding it all.
    return upload.read(settings.ODR_MAX_EVIDENCE_FILE_BYTES + 1)


DONE = {
    "answer": _("Your answer was sent."),
    "document": _("Your document was added."),
    "propose": _("Your proposal was sent to the customer."),
    "accept": _("You accepted the customer's request. Please carry it out by the date you gave."),
    "decline": _("Your answer was recorded. The agency will contact you."),
    "performed": _("Thank you. The customer will be asked to confirm."),
}


# Which field a refusal is about, by its code; any other is shown above the form.
ERROR_FIELDS = {
    "amount_not_positive": "amount",
    "amount_absurd": "amount",
    "amount_invalid": "amount",
    "unknown_currency": "currency",
    "perform_by_required": "perform_by",
    "perform_by_in_past": "perform_by",
    "perform_by_too_late": "perform_by",
    "performed_on_invalid": "performed_on",
    "file_empty": "file",
    "file_too_large": "file",
    "file_type_not_allowed": "file",
    "file_type_mismatch": "file",
    "evidence_total_too_large": "file",
}


def _perform(dispute: Dispute, action: str, data: dict, language: str) -> None:
    actor = services.merchant_actor(dispute.merchant.name)
    if action == "answer":
        services.merchant_answer(dispute, actor=actor, text=data["text"], language=language)
    elif action == "document":
        upload = data["file"]
        services.merchant_add_document(
            dispute,
            actor=actor,
            name=PurePath(upload.name or "document").name[:255],
            content=_read(upload),
            note=data["note"],
            language=language,
        )
    elif action == "propose":
        services.merchant_propose(
            dispute,
            actor=actor,
            remedy=data["remedy"],
            amount=data["amount"] or None,
            currency=data["currency"],
            perform_by=data["perform_by"],
            text=data["text"],
            language=language,
        )
    elif action == "accept":
        services.accept_requested_remedy(
            dispute,
            actor=actor,
            perform_by=data["perform_by"],
            text=data["text"],
            language=language,
        )
    elif action == "decline":
        services.merchant_decline(dispute, actor=actor, reasons=data["reasons"], language=language)
    else:
        services.confirm_performance(
            dispute,
            actor=actor,
            performed_on=data["performed_on"],
            note=data["note"],
            language=language,
        )


@never_cache
@require_POST
def act(request, action: str):
    if action not in forms.ACTION_FORMS:
        raise Http404
    dispute = dispute_for_session(request.session)
    if dispute is None:
        return refused(request)
    language = _language(request, dispute)
    with translation.override(language):
        return _act(request, dispute, action, language)


def _act(request, dispute: Dispute, action: str, language: str):
    form = forms.ACTION_FORMS[action](request.POST, request.FILES, auto_id=f"id_{action}_%s")
    if form.is_valid():
        try:
            _perform(dispute, action, form.cleaned_data, language)
        except DomainError as error:
            field = ERROR_FIELDS.get(error.code)
            form.add_error(field if field in form.fields else None, error.message)
        else:
            messages.success(request, str(DONE[action]))
            return _private(redirect("merchants:case"))
    dispute.refresh_from_db()
    context = _context(dispute, language, **{action: form})
    context["failed_action"] = action
    shown = context["can_confirm"] if action == "performed" else context["can_act"]
    if not shown:  # the case moved on meanwhile: its form is gone, its reason is not
        context["stray_form"] = form
    return _render(request, dispute, "merchants/case.html", context, status=400)


@never_cache
@require_GET
def document(request, pk: int):
    dispute = dispute_for_session(request.session)
    if dispute is None:
        return refused(request)
    evidence = selectors.merchant_documents(dispute).filter(pk=pk).first()
    if evidence is None:
        raise Http404
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return _private(response)
