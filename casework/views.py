"""The caseworker screens. Thin: forms clean input, services change things, selectors read."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agencies.selectors import this_agency
from disputes import services
from disputes.models import Dispute
from odr.errors import DomainError

from . import selectors
from .forms import (
    ACTIONS,
    DocumentForm,
    FileOnBehalfForm,
    MessageForm,
    QueueFilterForm,
    TranslationForm,
)

QUEUE_PAGE_SIZE = 25
# Several forms share one page: distinct ids keep every label tied to its own field.
MESSAGE_IDS = "id_message_%s"
DOCUMENT_IDS = "id_document_%s"
SERVICES = {**services.TRANSITION_SERVICES, "propose_settlement": services.propose_settlement}


def caseworker_required(view):
    """Anonymous people go to the login page; signed-in people without the permission get 403."""

    @wraps(view)
    @login_required
    @permission_required("disputes.handle_dispute", raise_exception=True)
    def wrapped(request, *args, **kwargs):
        return view(request, *args, **kwargs)

    return wrapped


class LoginView(auth_views.LoginView):
    template_name = "casework/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("casework:login")


def _dispute_or_404(reference: str) -> Dispute:
    try:
        return selectors.dispute_for(this_agency(), reference)
    except Dispute.DoesNotExist as error:
        raise Http404(_("No such dispute at this agency.")) from error


def _actor(request) -> services.Actor:
    return services.Actor.caseworker(request.user)


@require_GET
@caseworker_required
def queue(request):
    agency = this_agency()
    filters = QueueFilterForm(request.GET or None)
    # A bad value in one filter must not drop the others: use whatever cleaned.
    filters.is_valid()
    criteria = getattr(filters, "cleaned_data", {})
    disputes = selectors.queue(
        agency,
        status=criteria.get("status", ""),
        needs_action=criteria.get("needs_action", False),
        search=criteria.get("q", ""),
    )
    page = Paginator(disputes, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    clock = selectors.DeadlineClock(agency)
    rows = []
    for dispute in page.object_list:
        our_side = "home" if dispute.home_agency_id == agency.pk else "partner"
        acting = selectors.acting_side(dispute)
        rows.append(
            {
                "dispute": dispute,
                "deadline": clock.deadline("", dispute.next_deadline),
                "waiting_for": "us" if acting == our_side else acting,
            }
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "casework/queue.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "agency": agency,
            "nav": "queue",
        },
    )


def _detail_context(request, dispute: Dispute, *, bound: tuple[str, object] | None = None):
    actor = _actor(request)
    agency = this_agency()
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
        "our_side": "home" if dispute.home_agency_id == agency.pk else "partner",
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
    }


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
    dispute = _dispute_or_404(reference)
    status = error.http_status if error is not None else 400
    return _render_detail(request, dispute, bound=(key, form), status=status)


@require_GET
@caseworker_required
def detail(request, reference: str):
    return _render_detail(request, _dispute_or_404(reference))


@require_POST
@caseworker_required
def act(request, reference: str, action: str):
    if action not in ACTIONS:
        raise Http404(_("No such action."))
    dispute = _dispute_or_404(reference)
    form_class, label = ACTIONS[action]
    form = form_class(request.POST, dispute=dispute, auto_id=f"id_{action}_%s")
    key = f"action:{action}"
    if not form.is_valid():
        return _failed(request, reference, key, form)
    try:
        SERVICES[action](dispute, actor=_actor(request), **form.service_kwargs())
    except DomainError as error:
        return _failed(request, reference, key, form, error)
    messages.success(request, _("Done: %(action)s.") % {"action": label})
    return redirect("casework:detail", reference=reference)


@require_POST
@caseworker_required
def post_message(request, reference: str):
    dispute = _dispute_or_404(reference)
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
    dispute = _dispute_or_404(reference)
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
    dispute = _dispute_or_404(reference)
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


@require_GET
@caseworker_required
def download_evidence(request, reference: str, evidence_id: int):
    dispute = _dispute_or_404(reference)
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
