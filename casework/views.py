"""The caseworker screens. Thin: forms clean input, services change things, selectors read."""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditEntry
from audit.reads import logs_personal_data_read
from audit.selectors import history_of as access_history_of
from audit.services import record
from disputes import services
from disputes.models import Dispute
from odr.errors import DomainError

from . import queue_query, selectors
from . import services as casework_services
from .forms import (
    ACTIONS,
    AssignForm,
    DocumentForm,
    FileOnBehalfForm,
    InviteMerchantForm,
    MessageForm,
    QueueFilterForm,
    SavedViewForm,
    TranslationForm,
)

QUEUE_PAGE_SIZE = 25
CURSOR_SALT = "casework.queue.after"
# Several forms share one page: distinct ids keep every label tied to its own field.
MESSAGE_IDS = "id_message_%s"
DOCUMENT_IDS = "id_document_%s"
SERVICES = {**services.TRANSITION_SERVICES, "propose_settlement": services.propose_settlement}


def caseworker_required(view):
    """Anonymous people go to the login page; signed-in people who are not caseworkers of this
    node's agency (no permission, or staff of another agency) get 403."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not selectors.works_here(request.user, selectors.node_agency()):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def supervisor_required(view):
    """As caseworker_required, and only for those who see the whole agency's queue."""

    @wraps(view)
    @caseworker_required
    def wrapped(request, *args, **kwargs):
        if not selectors.sees_whole_queue(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


class LoginView(auth_views.LoginView):
    template_name = "casework/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("casework:login")


def _dispute_or_404(request, reference: str) -> Dispute:
    try:
        return selectors.dispute_for(request.user, selectors.node_agency(), reference)
    except Dispute.DoesNotExist as error:
        raise Http404(_("No such dispute at this agency.")) from error


def _actor(request) -> services.Actor:
    return services.Actor.caseworker(request.user)


def _cursor(raw: str | None, sort: str) -> list | None:
    """The signed position of the last row of the previous page; anything else starts afresh."""
    if not raw:
        return None
    try:
        values = signing.loads(raw, salt=CURSOR_SALT)
        columns, _backwards = queue_query.SORTS.get(sort, queue_query.SORTS["deadline"])
        parsed = []
        for name, value in zip(columns, values, strict=True):
            if name == "next_deadline":
                parsed.append(dt.date.fromisoformat(value))
            elif name == "filed_at":
                parsed.append(dt.datetime.fromisoformat(value))
            else:
                parsed.append(int(value))
        return parsed
    except (signing.BadSignature, ValueError, TypeError):
        return None


def _sign_cursor(values: list | None) -> str:
    if values is None:
        return ""
    return signing.dumps(
        [value.isoformat() if hasattr(value, "isoformat") else value for value in values],
        salt=CURSOR_SALT,
        compress=True,
    )


@require_GET
@caseworker_required
def queue(request):
    agency = selectors.node_agency()
    user = request.user
    supervisor = selectors.sees_whole_queue(user)
    staff = selectors.staff_for_filters(agency) if supervisor else []
    filters = QueueFilterForm(
        request.GET or None,
        partners=selectors.other_agencies(agency),
        categories=selectors.categories(),
        staff=staff,
    )
    # A bad value in one filter must not drop the others: use whatever cleaned.
    filters.is_valid()
    cleaned = getattr(filters, "cleaned_data", {})
    clock = selectors.DeadlineClock(agency)
    criteria = queue_query.QueueCriteria(
        status=cleaned.get("status", ""),
        needs_action=cleaned.get("needs_action", False),
        search=cleaned.get("q", ""),
        partner_id=cleaned.get("partner"),
        category_id=cleaned.get("category"),
        due=cleaned.get("due", ""),
        assigned=cleaned.get("assigned", ""),
        sort=cleaned.get("sort") or "deadline",
    )
    disputes = queue_query.queue(
        agency, criteria, user=user, today=clock.today, calendar=clock.calendar
    )
    page = queue_query.queue_page(
        disputes,
        criteria.sort,
        _cursor(request.GET.get("after"), criteria.sort),
        QUEUE_PAGE_SIZE,
        search=criteria.search.strip(),
    )
    rows = []
    for dispute in page.rows:
        our_side = selectors.agency_side(dispute, agency)
        acting = selectors.acting_side(dispute)
        rows.append(
            {
                "dispute": dispute,
                "deadline": clock.deadline("", dispute.next_deadline),
                "waiting_for": "us" if acting == our_side else acting,
            }
        )
    if rows:
        # Listing consumers' names is a read too: one entry per page, naming the cases shown.
        record(
            user,
            AuditEntry.Action.READ,
            "queue",
            agency.code,
            "",
            " ".join(row["dispute"].reference for row in rows),
        )
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "casework/queue.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "next_cursor": _sign_cursor(page.next_cursor),
            "is_later_page": bool(request.GET.get("after")),
            "saved_views": selectors.saved_views_of(user),
            "save_form": SavedViewForm(initial={"query": query.urlencode()}),
            "agency": agency,
            "nav": "queue",
        },
    )


def _detail_context(request, dispute: Dispute, *, bound: tuple[str, object] | None = None):
    actor = _actor(request)
    agency = selectors.node_agency()
    bound_key, bound_form = bound or (None, None)
    actions = []
    for name in selectors.available_actions(dispute, actor):
        form_class, label = ACTIONS[name]
        form = (
            bound_form
            if bound_key == f"action:{name}"
            else form_class(dispute=dispute, auto_id=f"id_{name}_%s")
        )
        actions.append({"name": name, "label": label, "form": form})
    # An action that is no longer (or never was) open here still has its error to show.
    shown = {f"action:{action['name']}" for action in actions}
    stray_errors = (
        list(bound_form.non_field_errors())
        if bound_key and bound_key.startswith("action:") and bound_key not in shown
        else []
    )
    forwarding = None
    if any(action["name"] == "forward" for action in actions):
        mou, problems = selectors.forwarding_check(dispute)
        forwarding = {
            "mou": mou,
            "partner": mou.partner_of(dispute.home_agency) if mou else None,
            "problems": [message for _code, message in problems],
        }
    message_list = []
    for message in dispute.messages.all():
        key = f"translate:{message.pk}"
        form = bound_form if bound_key == key else TranslationForm(prefix=f"m{message.pk}")
        message_list.append({"message": message, "translation_form": form})
    return {
        "dispute": dispute,
        "agency": agency,
        "our_side": selectors.agency_side(dispute, agency),
        "waiting_for": selectors.acting_side(dispute),
        "deadlines": selectors.DeadlineClock(agency).deadlines_of(dispute),
        "actions": actions,
        "stray_errors": stray_errors,
        "forwarding": forwarding,
        "messages_list": message_list,
        "message_form": bound_form if bound_key == "message" else MessageForm(auto_id=MESSAGE_IDS),
        "document_form": bound_form
        if bound_key == "document"
        else DocumentForm(auto_id=DOCUMENT_IDS),
        "packets": selectors.packets_of(dispute),
        "assignment": getattr(dispute, "assignment", None),
        "pending_referral": selectors.pending_referral(dispute),
        "may_approve_referrals": selectors.may_approve_referrals(request.user),
        "assign_form": bound_form
        if bound_key == "assign"
        else _assign_form(request, agency, dispute),
        "access_history": (
            access_history_of(dispute) if selectors.may_see_access_history(request.user) else None
        ),
        "account_form": bound_form if bound_key == "account" else TranslationForm(prefix="account"),
        "account_translations": list(dispute.account_translations.all()),
        "merchant_invite": _merchant_invite(
            dispute, actor, bound_form if bound_key == "invite" else None
        ),
    }


def _assign_form(request, agency, dispute, data=None):
    """Supervisors choose anyone; a caseworker may only take an unassigned case."""
    if selectors.may_assign(request.user):
        current = getattr(dispute, "assignment", None)
        return AssignForm(
            data,
            staff=selectors.staff_of(agency),
            auto_id="id_assign_%s",
            initial={"assignee": current.assignee_id if current else None},
        )
    if getattr(dispute, "assignment", None) is None:
        return AssignForm(data, staff=[request.user], auto_id="id_assign_%s")
    return None


def _merchant_invite(dispute: Dispute, actor, bound) -> dict | None:
    """The merchant's invitation box, for the side that deals with the merchant."""
    if not selectors.may_invite_merchant(dispute, actor):
        return None
    known = services.known_merchant_for(dispute)
    if bound is not None:
        form = bound
    else:
        initial = (
            {
                "name": known.name,
                "contact_email": known.contact_email,
                "language": known.language,
                "website": known.web_domain,
                "marketplace": known.marketplace,
                "shop_id": known.shop_id,
            }
            if known
            else {"name": dispute.merchant_name, "website": dispute.merchant_website}
        )
        form = InviteMerchantForm(initial=initial, auto_id="id_invite_%s")
    return {"form": form, "known": known}


def _render_detail(request, dispute, *, bound=None, status=200):
    return render(
        request,
        "casework/detail.html",
        _detail_context(request, dispute, bound=bound),
        status=status,
    )


def _failed(request, reference: str, key: str, form, error: DomainError | None = None):
    """Show the page again with the caseworker's input and the reason; nothing was changed."""
    if error is not None:
        form.add_error(None, error.message)
    dispute = _dispute_or_404(request, reference)
    status = error.http_status if error is not None else 400
    return _render_detail(request, dispute, bound=(key, form), status=status)


@require_GET
@caseworker_required
@logs_personal_data_read("case page")
def detail(request, reference: str):
    return _render_detail(request, _dispute_or_404(request, reference))


@require_POST
@caseworker_required
def act(request, reference: str, action: str):
    if action not in ACTIONS:
        raise Http404(_("No such action."))
    dispute = _dispute_or_404(request, reference)
    form_class, label = ACTIONS[action]
    form = form_class(request.POST, dispute=dispute, auto_id=f"id_{action}_%s")
    key = f"action:{action}"
    if not form.is_valid():
        return _failed(request, reference, key, form)
    if action == "refer_out_of_scope" and not selectors.may_approve_referrals(request.user):
        # A caseworker proposes; a supervisor approves or declines (decide_referral).
        try:
            casework_services.request_referral(dispute, by=request.user, **form.service_kwargs())
        except DomainError as error:
            return _failed(request, reference, key, form, error)
        messages.success(request, _("The referral is waiting for a supervisor's approval."))
        return redirect("casework:detail", reference=reference)
    try:
        SERVICES[action](dispute, actor=_actor(request), **form.service_kwargs())
    except DomainError as error:
        return _failed(request, reference, key, form, error)
    messages.success(request, _("Done: %(action)s.") % {"action": label})
    return redirect("casework:detail", reference=reference)


@require_POST
@caseworker_required
def post_message(request, reference: str):
    dispute = _dispute_or_404(request, reference)
    form = MessageForm(request.POST, auto_id=MESSAGE_IDS)
    if not form.is_valid():
        return _failed(request, reference, "message", form)
    try:
        services.post_message(dispute, actor=_actor(request), **form.cleaned_data)
    except DomainError as error:
        return _failed(request, reference, "message", form, error)
    messages.success(request, _("Your message was posted."))
    return redirect(reverse("casework:detail", args=[reference]) + "#messages")


@require_POST
@caseworker_required
def translate_message(request, reference: str, message_id: int):
    dispute = _dispute_or_404(request, reference)
    message = get_object_or_404(dispute.messages, pk=message_id)
    key = f"translate:{message.pk}"
    form = TranslationForm(request.POST, prefix=f"m{message.pk}")
    if not form.is_valid():
        return _failed(request, reference, key, form)
    try:
        services.add_translation(message, actor=_actor(request), **form.cleaned_data)
    except DomainError as error:
        return _failed(request, reference, key, form, error)
    messages.success(request, _("Your translation was saved beside the original."))
    return redirect(reverse("casework:detail", args=[reference]) + f"#message-{message.pk}")


@require_POST
@caseworker_required
def add_document(request, reference: str):
    dispute = _dispute_or_404(request, reference)
    form = DocumentForm(request.POST, request.FILES, auto_id=DOCUMENT_IDS)
    if not form.is_valid():
        return _failed(request, reference, "document", form)
    uploaded = form.cleaned_data["file"]
    try:
        services.add_document(
            dispute,
            actor=_actor(request),
            name=uploaded.name,
            content=uploaded.read(),
            note=form.cleaned_data["note"],
            language=form.cleaned_data["language"],
            visible_to_consumer=form.cleaned_data["visible_to_consumer"],
        )
    except DomainError as error:
        return _failed(request, reference, "document", form, error)
    messages.success(request, _("The document was added."))
    return redirect(reverse("casework:detail", args=[reference]) + "#evidence")


@require_POST
@caseworker_required
def translate_account(request, reference: str):
    """Translate the consumer's account (for the merchant, who reads it beside the original)."""
    dispute = _dispute_or_404(request, reference)
    form = TranslationForm(request.POST, prefix="account")
    if not form.is_valid():
        return _failed(request, reference, "account", form)
    try:
        services.translate_account(dispute, actor=_actor(request), **form.cleaned_data)
    except DomainError as error:
        return _failed(request, reference, "account", form, error)
    messages.success(request, _("Your translation was saved beside the original."))
    return redirect(reverse("casework:detail", args=[reference]) + "#account")


@require_POST
@caseworker_required
def invite_merchant(request, reference: str):
    """Record the merchant (once per node) and send them a new link; an older link stops."""
    dispute = _dispute_or_404(request, reference)
    form = InviteMerchantForm(request.POST, auto_id="id_invite_%s")
    if not form.is_valid():
        return _failed(request, reference, "invite", form)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            merchant = services.record_merchant(country=dispute.merchant_country, **data)
            services.invite_merchant(dispute, actor=_actor(request), merchant=merchant)
    except DomainError as error:
        return _failed(request, reference, "invite", form, error)
    messages.success(
        request,
        _("The merchant's link was sent to %(email)s.") % {"email": merchant.contact_email},
    )
    return redirect(reverse("casework:detail", args=[reference]) + "#merchant")


@require_POST
@caseworker_required
def revoke_merchant_link(request, reference: str):
    dispute = _dispute_or_404(request, reference)
    try:
        services.revoke_merchant_link(dispute, actor=_actor(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The merchant's link no longer works."))
    return redirect(reverse("casework:detail", args=[reference]) + "#merchant")


@require_GET
@caseworker_required
@logs_personal_data_read("evidence file")
def download_evidence(request, reference: str, evidence_id: int):
    dispute = _dispute_or_404(request, reference)
    evidence = get_object_or_404(dispute.evidence, pk=evidence_id)
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    # Files come from consumers and merchants: never let a browser run or sniff them.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@caseworker_required
def assign(request, reference: str):
    agency = selectors.node_agency()
    dispute = _dispute_or_404(request, reference)
    form = _assign_form(request, agency, dispute, request.POST)
    if form is None:
        raise PermissionDenied
    if not form.is_valid():
        return _failed(request, reference, "assign", form)
    try:
        casework_services.assign_dispute(
            dispute, form.assignee_user(), by=request.user, agency=agency
        )
    except DomainError as error:
        return _failed(request, reference, "assign", form, error)
    messages.success(request, _("The case's owner was changed."))
    return redirect("casework:detail", reference=reference)


@require_POST
@caseworker_required
def decide_referral(request, reference: str):
    dispute = _dispute_or_404(request, reference)
    if not selectors.may_approve_referrals(request.user):
        raise PermissionDenied
    referral = selectors.pending_referral(dispute)
    if referral is None:
        raise Http404(_("No referral of this case is waiting."))
    approve = request.POST.get("decision") == "approve"
    try:
        casework_services.decide_referral(
            referral, by=request.user, agency=selectors.node_agency(), approve=approve
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The referral was approved and made.")
            if approve
            else _("The referral was declined."),
        )
    return redirect("casework:detail", reference=reference)


@require_GET
@supervisor_required
def workload(request):
    agency = selectors.node_agency()
    clock = selectors.DeadlineClock(agency)
    return render(
        request,
        "casework/workload.html",
        {"people": selectors.workload(agency, clock.today), "nav": "workload"},
    )


@require_POST
@caseworker_required
def save_view(request):
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            casework_services.save_view(
                request.user, form.cleaned_data["name"], form.cleaned_data["query"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The view was saved."))
    else:
        messages.error(request, _("Give the view a name."))
    return redirect(reverse("casework:queue") + "?" + form.data.get("query", ""))


@require_POST
@caseworker_required
def delete_view(request, view_id: int):
    casework_services.delete_view(request.user, view_id)
    messages.success(request, _("The view was deleted."))
    return redirect("casework:queue")


@caseworker_required
def file_on_behalf(request):
    form = FileOnBehalfForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        evidence = [(uploaded.name, uploaded.read()) for uploaded in data.pop("evidence")]
        try:
            dispute = services.file_dispute(actor=_actor(request), evidence=evidence, **data)
        except DomainError as error:
            form.add_error(None, error.message)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Dispute %(reference)s was filed for %(name)s.")
                % {"reference": dispute.reference, "name": dispute.consumer_name},
            )
            return redirect("casework:detail", reference=dispute.reference)
    status = 400 if request.method == "POST" else 200
    return render(request, "casework/file.html", {"form": form, "nav": "file"}, status=status)
