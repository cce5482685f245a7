"""The consumer's pages: home, the filing steps, the tracking page and "find my dispute".

Views stay thin: they bind forms, call portal.services / selectors and render. No page needs
JavaScript; every action is a plain form POST protected by CSRF.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from agencies.selectors import this_agency
from disputes import services as disputes
from disputes.models import Dispute
from odr.cache import hit_limit
from odr.errors import DomainError
from odr.net import client_address

from . import forms, selectors, services
from .models import DRAFT_COOKIE_MAX_AGE, draft_cookie_name
from .tokens import dispute_for_token, make_tracking_token

FORM_STEPS = [form.step for form in forms.STEP_FORMS]


def home(request):
    draft = selectors.draft_for_request(request)
    return render(
        request,
        "portal/home.html",
        {"has_draft": selectors.draft_has_content(draft)},
    )


# --- filing -------------------------------------------------------------------------------------


def _set_draft_cookie(response, draft):
    response.set_signed_cookie(
        draft_cookie_name(),
        draft.pk,
        salt=selectors.DRAFT_COOKIE_SALT,
        max_age=DRAFT_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


def _steps_context(current: str) -> dict:
    steps = [
        {"name": name, "title": forms.STEP_TITLES[name], "number": index + 1}
        for index, name in enumerate(forms.STEPS)
    ]
    number = forms.STEPS.index(current) + 1
    return {
        "steps": steps,
        "current_step": current,
        "step_number": number,
        "step_count": len(steps),
    }


def _neighbour(step: str, offset: int) -> str | None:
    index = forms.STEPS.index(step) + offset
    return forms.STEPS[index] if 0 <= index < len(forms.STEPS) else None


def _step_url(step: str) -> str:
    return reverse("portal:file_step", kwargs={"step": step})


@never_cache
@require_http_methods(["GET", "POST"])
def file_start(request):
    """Offer to resume a draft this device left unfinished, or start a new one."""
    draft = selectors.draft_for_request(request)
    if request.method == "POST":
        if draft is not None:
            services.discard_draft(draft)
        draft = services.start_draft(translation.get_language())
        return _set_draft_cookie(redirect(_step_url(forms.STEPS[0])), draft)
    if selectors.draft_has_content(draft):
        resume_at = selectors.first_incomplete_step(draft) or "evidence"
        return render(
            request,
            "portal/file/resume.html",
            {"draft": draft, "resume_url": _step_url(resume_at)},
        )
    return redirect(_step_url(forms.STEPS[0]))


def _draft_or_start(request):
    """The visitor's draft; a new one only when they send something, so visits store nothing."""
    draft = selectors.draft_for_request(request)
    if draft is None and request.method == "POST":
        draft = services.start_draft(translation.get_language())
    return draft


def _respond(response, draft):
    return _set_draft_cookie(response, draft) if draft is not None else response


@never_cache
@require_http_methods(["GET", "POST"])
def file_step(request, step: str):
    if step == "evidence":
        return file_evidence(request)
    if step == "review":
        return file_review(request)
    if step not in FORM_STEPS:
        raise Http404
    draft = _draft_or_start(request)
    if request.method == "POST":
        action = request.POST.get("action")
        services.save_step(draft, step, request.POST, checked=action not in ("autosave", "back"))
        form = selectors.step_form(draft, step)
        if action == "autosave":
            # The progressive-enhancement script saves as the consumer types; nothing to show.
            return _set_draft_cookie(HttpResponse(status=204), draft)
        if action == "back":
            target = _neighbour(step, -1)
            return _set_draft_cookie(redirect(_step_url(target) if target else "/"), draft)
        if form.is_valid():
            return _set_draft_cookie(redirect(_step_url(_neighbour(step, 1))), draft)
    else:
        form = selectors.step_form_for_display(draft, step)
    context = {"form": form, "draft": draft, **_steps_context(step)}
    return _respond(render(request, "portal/file/step.html", context), draft)


def file_evidence(request):
    draft = _draft_or_start(request)
    form = forms.EvidenceForm()
    upload_errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "continue")
        if action.startswith("remove-"):
            services.remove_staged_file(draft, int(action.removeprefix("remove-") or 0))
            return _set_draft_cookie(redirect(_step_url("evidence")), draft)
        form = forms.EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            upload_errors = services.stage_files(draft, form.cleaned_data["files"])
        else:
            upload_errors = [error for errors in form.errors.values() for error in errors]
        if not upload_errors:
            if action == "back":
                return _set_draft_cookie(redirect(_step_url("problem")), draft)
            if action == "continue":
                return _set_draft_cookie(redirect(_step_url("review")), draft)
            return _set_draft_cookie(redirect(_step_url("evidence")), draft)
    context = {
        "form": form,
        "upload_errors": upload_errors,
        "staged": draft.files.all() if draft else [],
        "max_file_bytes": settings.ODR_MAX_EVIDENCE_FILE_BYTES,
        **_steps_context("evidence"),
    }
    return _respond(render(request, "portal/file/evidence.html", context), draft)


def file_review(request):
    draft = selectors.draft_for_request(request)
    if draft is None and request.session.get("portal_filed"):
        return redirect("portal:file_done")
    if draft is None:
        return redirect(_step_url(forms.STEPS[0]))
    step_forms = selectors.step_forms(draft)
    incomplete = [
        {"step": step, "title": forms.STEP_TITLES[step], "url": _step_url(step)}
        for step, form in step_forms.items()
        if not form.is_bound or not form.is_valid()
    ]
    values = selectors.draft_values(draft)
    review_form = forms.ReviewForm()
    if request.method == "POST":
        if request.POST.get("action") == "back":
            return _set_draft_cookie(redirect(_step_url("evidence")), draft)
        review_form = forms.ReviewForm(request.POST)
        if review_form.is_valid() and not incomplete:
            try:
                dispute = services.submit_draft(draft, language=translation.get_language())
            except DomainError as error:
                if error.code == "draft_already_filed" and request.session.get("portal_filed"):
                    return redirect("portal:file_done")
                review_form.add_error(None, error.message)
            else:
                request.session["portal_filed"] = dispute.pk
                response = redirect("portal:file_done")
                response.delete_cookie(draft_cookie_name(), samesite="Lax")
                return response
    home = this_agency()
    coverage = selectors.coverage_for(
        home,
        merchant_country=values.get("merchant_country"),
        consumer_country=values.get("consumer_country"),
        category=values.get("category"),
        amount=values.get("amount"),
        currency=values.get("currency", ""),
    )
    context = {
        "form": review_form,
        "summary": selectors.draft_summary(draft),
        "values": values,
        "incomplete": incomplete,
        "coverage": coverage,
        "home": home,
        "staged": draft.files.all(),
        **_steps_context("review"),
    }
    return _set_draft_cookie(render(request, "portal/file/review.html", context), draft)


@never_cache
def file_done(request):
    dispute = Dispute.objects.filter(pk=request.session.get("portal_filed")).first()
    if dispute is None:
        return redirect("portal:home")
    return render(
        request,
        "portal/file/done.html",
        {
            "dispute": dispute,
            "tracking_path": reverse(
                "portal:track", kwargs={"token": make_tracking_token(dispute)}
            ),
        },
    )


# --- following a dispute ------------------------------------------------------------------------


def _dispute_or_refuse(token: str) -> Dispute:
    dispute = dispute_for_token(token)
    if dispute is None:
        raise Http404
    return dispute


def link_refused(request, exception=None):
    return render(request, "portal/link_refused.html", status=404)


def _track_context(request, dispute: Dispute, token: str, **forms_in_use) -> dict:
    language = translation.get_language()
    context = {
        "dispute": dispute,
        "token": token,
        "plain_status": selectors.plain_status(dispute),
        "timeline": selectors.consumer_timeline(dispute),
        "messages_for_consumer": selectors.consumer_messages(dispute, language),
        "documents": selectors.consumer_documents(dispute),
        "deadlines": selectors.consumer_deadlines(dispute),
        "question": selectors.clarification_question(dispute),
        "settlement_open": selectors.open_settlement_proposal(dispute),
        "clarification_form": forms.ClarificationForm(),
        "message_form": forms.MessageForm(),
        "settlement_form": forms.SettlementForm(),
        "withdraw_form": forms.WithdrawForm(),
        "receipt_form": forms.ReceiptForm(),
        "rating_form": forms.RatingForm(),
        "can_confirm_receipt": selectors.can_confirm_receipt(dispute),
        "ratings": selectors.consumer_ratings(dispute),
        "can_rate": selectors.can_rate(dispute),
    }
    context.update(forms_in_use)
    return context


@never_cache
def track(request, token: str):
    dispute = dispute_for_token(token)
    if dispute is None:
        return link_refused(request)
    return render(request, "portal/track.html", _track_context(request, dispute, token))


TRACK_FORMS = {
    "clarification": ("clarification_form", forms.ClarificationForm),
    "message": ("message_form", forms.MessageForm),
    "settlement": ("settlement_form", forms.SettlementForm),
    "withdraw": ("withdraw_form", forms.WithdrawForm),
    "receipt": ("receipt_form", forms.ReceiptForm),
    "rating": ("rating_form", forms.RatingForm),
}

DONE_MESSAGES = {
    "clarification": _("Thank you. Your answer has been sent to the caseworker."),
    "message": _("Your message has been sent."),
    "settlement": _("Your answer to the proposal has been recorded."),
    "withdraw": _("Your dispute has been withdrawn."),
    "receipt": _("Thank you. Your answer has been sent to the agencies."),
    "rating": _("Thank you for rating your case."),
}


@never_cache
def track_action(request, token: str, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    dispute = dispute_for_token(token)
    if dispute is None:
        return link_refused(request)
    if action not in TRACK_FORMS:
        raise Http404
    name, form_class = TRACK_FORMS[action]
    form = form_class(request.POST, request.FILES)
    language = translation.get_language()
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "clarification":
                services.answer_clarification(
                    dispute, answer=data["answer"], uploads=data["files"], language=language
                )
            elif action == "message":
                services.send_message(
                    dispute, body=data["body"], uploads=data["files"], language=language
                )
            elif action == "settlement":
                services.decide_settlement(
                    dispute,
                    accept=data["decision"] == "accept",
                    reason=data["reason"],
                    language=language,
                )
            elif action == "withdraw":
                services.withdraw(dispute, reason=data["reason"], language=language)
            elif action == "receipt":
                disputes.confirm_receipt(
                    dispute,
                    actor=disputes.Actor.consumer(dispute.consumer_name),
                    received=data["received"],
                    note=data["note"],
                    language=language,
                )
            else:
                consumer = disputes.Actor.consumer(dispute.consumer_name)
                with transaction.atomic():
                    for aspect in ("result", "handling"):
                        disputes.rate_dispute(
                            dispute,
                            actor=consumer,
                            aspect=aspect,
                            score=data[aspect],
                            comment=data["comment"] if aspect == "result" else "",
                            language=language,
                        )
        except DomainError as error:
            form.add_error("files" if "file" in error.code else None, error.message)
        else:
            from django.contrib import messages

            messages.success(request, str(DONE_MESSAGES[action]))
            return redirect("portal:track", token=token)
    dispute.refresh_from_db()
    context = _track_context(request, dispute, token, **{name: form})
    context["failed_action"] = action
    return render(request, "portal/track.html", context, status=400)


@never_cache
def track_document(request, token: str, pk: int):
    dispute = _dispute_or_refuse(token)
    evidence = selectors.consumer_documents(dispute).filter(pk=pk).first()
    if evidence is None:
        raise Http404
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- find my dispute ----------------------------------------------------------------------------

FIND_LIMIT_PER_HOUR = 5


def _allowed(key: str, limit: int) -> bool:
    # Shared by the node's processes in Redis; counted in each process while Redis is down, so
    # the limit holds (and nobody sees an error) either way.
    allowed, _wait = hit_limit(key, limit, 3600)
    return allowed


@never_cache
@require_http_methods(["GET", "POST"])
def find_dispute(request):
    form = forms.FindDisputeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reference = form.cleaned_data["reference"]
        by_ip = _allowed(f"portal:find:ip:{client_address(request)}", FIND_LIMIT_PER_HOUR * 4)
        by_reference = _allowed(f"portal:find:ref:{reference}", FIND_LIMIT_PER_HOUR)
        if not (by_ip and by_reference):
            return render(request, "portal/find.html", {"form": form, "limited": True}, status=429)
        services.request_tracking_link(reference, form.cleaned_data["email"])
        return redirect("portal:find_sent")
    return render(request, "portal/find.html", {"form": form})


def find_sent(request):
    return render(request, "portal/find_sent.html")
