"""An operator's command line over disputes.services: file, act, message, document, show.

It is as thin as a view: it turns arguments into domain objects, calls one service, and prints
the result. A refused action (a ``DomainError``) becomes a ``CommandError`` with its stable code,
so scripts (the demo, the multi-node tests) can tell what went wrong.
"""

from __future__ import annotations

import datetime as dt
import inspect
import secrets
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError

from agencies.models import Category, Country, DomesticBody
from disputes import services
from disputes.models import Dispute, ProblemType, Remedy
from odr.errors import DomainError

# The free-text argument of each service goes by the name that service gives it.
TEXT_PARAMETERS = ("question", "answer", "reason", "note", "summary", "proposal")
EXTRA_ACTIONS = {"propose_settlement": services.propose_settlement}
REQUIRED_FILE_FIELDS = (
    "consumer_name",
    "consumer_email",
    "consumer_country",
    "consumer_language",
    "merchant_name",
    "merchant_country",
    "purchase_date",
    "amount",
    "currency",
    "payment_method",
    "category",
    "problem_types",
    "desired_remedy",
    "consumer_account",
)
OPTIONAL_TEXT_FIELDS = (
    "consumer_phone",
    "merchant_website",
    "merchant_contact",
    "order_number",
    "platform",
)


def _lookup(model, code: str, what: str):
    try:
        return model.objects.get(code=code)
    except model.DoesNotExist:
        raise CommandError(f"unknown_{what}: no {what} with code {code!r}") from None


def _dispute(reference: str) -> Dispute:
    try:
        return Dispute.objects.select_related("home_agency", "partner_agency").get(
            reference=reference
        )
    except Dispute.DoesNotExist:
        raise CommandError(f"not_found: no dispute {reference!r} on this node") from None


def _actor(username: str | None, consumer: bool, dispute: Dispute | None = None):
    if consumer:
        return services.Actor.consumer(dispute.consumer_name if dispute else "")
    if not username:
        raise CommandError("actor_required: give --as USERNAME (a caseworker) or --consumer")
    try:
        user = get_user_model().objects.get(username=username)
    except ObjectDoesNotExist:
        raise CommandError(f"unknown_user: no user {username!r}") from None
    return services.Actor.caseworker(user)


def _decimal(value: str | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise CommandError(f"invalid_{what}: {value!r} is not a number") from None


class Command(BaseCommand):
    help = "Work a dispute from the command line: file, act, message, document, show, caseworker."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        file_ = sub.add_parser("file", help="File a dispute from JSON (a file or - for stdin).")
        file_.add_argument("--json", default="-", metavar="FILE")
        file_.add_argument("--as", dest="username", help="a caseworker filing for the consumer")
        file_.add_argument("--evidence", action="append", default=[], metavar="PATH")

        act = sub.add_parser("act", help="Apply a lifecycle transition.")
        act.add_argument("reference")
        act.add_argument(
            "transition", choices=sorted([*services.TRANSITION_SERVICES, *EXTRA_ACTIONS])
        )
        self._actor_arguments(act)
        act.add_argument("--text", default="")
        act.add_argument("--language", default="")
        act.add_argument("--body-code", help="domestic body (referral, adjudication)")
        act.add_argument("--amount")
        act.add_argument("--currency", default="")

        message = sub.add_parser("message", help="Post a message on the case.")
        message.add_argument("reference")
        self._actor_arguments(message)
        message.add_argument("--text", required=True)
        message.add_argument("--language", required=True)
        message.add_argument("--internal", action="store_true", help="not shown to the consumer")

        document = sub.add_parser("document", help="Add a document to the case.")
        document.add_argument("reference")
        self._actor_arguments(document)
        document.add_argument("--file", required=True, metavar="PATH")
        document.add_argument("--note", default="")
        document.add_argument("--language", default="")

        show = sub.add_parser("show", help="Status, deadlines, timeline, messages, evidence.")
        show.add_argument("reference")
        show.add_argument("--json", action="store_true")

        caseworker = sub.add_parser("caseworker", help="Create a caseworker (staff) account.")
        caseworker.add_argument("username")
        caseworker.add_argument("--password", help="generated and printed when not given")
        caseworker.add_argument("--email", default="")

    @staticmethod
    def _actor_arguments(parser):
        parser.add_argument("--as", dest="username", metavar="USERNAME")
        parser.add_argument("--consumer", action="store_true", help="act as the consumer")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"handle_{action}")(**options)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        except ValidationError as error:
            raise CommandError(f"invalid: {'; '.join(error.messages)}") from None

    # --- file --------------------------------------------------------------------------------

    def handle_file(self, *, json: str, username: str | None, evidence: list[str], **options):
        import json as json_module

        raw = sys.stdin.read() if json == "-" else Path(json).read_text("utf-8")
        try:
            data = json_module.loads(raw)
        except ValueError as error:
            raise CommandError(f"invalid_json: {error}") from None
        missing = [name for name in REQUIRED_FILE_FIELDS if data.get(name) in (None, "", [])]
        if missing:
            raise CommandError("missing_fields: " + ", ".join(missing))
        try:
            purchase_date = dt.date.fromisoformat(str(data["purchase_date"]))
        except ValueError:
            raise CommandError("invalid_purchase_date: use YYYY-MM-DD") from None
        problem_codes = list(data["problem_types"])
        problems = list(ProblemType.objects.filter(code__in=problem_codes))
        if len(problems) != len(set(problem_codes)):
            known = {problem.code for problem in problems}
            raise CommandError(
                "unknown_problem_type: " + ", ".join(c for c in problem_codes if c not in known)
            )
        files = [*data.get("evidence", []), *evidence]
        actor = (
            _actor(username, False)
            if username
            else services.Actor.consumer(str(data["consumer_name"]))
        )
        dispute = services.file_dispute(
            actor=actor,
            consumer_name=str(data["consumer_name"]),
            consumer_email=str(data["consumer_email"]),
            consumer_country=_lookup(Country, data["consumer_country"], "country"),
            consumer_language=str(data["consumer_language"]),
            merchant_name=str(data["merchant_name"]),
            merchant_country=_lookup(Country, data["merchant_country"], "country"),
            purchase_date=purchase_date,
            amount=_decimal(data["amount"], "amount"),
            currency=str(data["currency"]),
            payment_method=str(data["payment_method"]),
            category=_lookup(Category, data["category"], "category"),
            problem_types=problems,
            desired_remedy=_lookup(Remedy, data["desired_remedy"], "remedy"),
            consumer_account=str(data["consumer_account"]),
            filing_language=str(data.get("filing_language") or data["consumer_language"]),
            intake_channel=str(data.get("intake_channel") or "web"),
            evidence=[(Path(path).name, Path(path).read_bytes()) for path in files],
            **{name: str(data[name]) for name in OPTIONAL_TEXT_FIELDS if data.get(name)},
        )
        self.stdout.write(dispute.reference)

    # --- act, message, document ---------------------------------------------------------------

    def handle_act(
        self,
        *,
        reference: str,
        transition: str,
        username: str | None,
        consumer: bool,
        text: str,
        language: str,
        body_code: str | None,
        amount: str | None,
        currency: str,
        **options,
    ):
        dispute = _dispute(reference)
        service = services.TRANSITION_SERVICES.get(transition) or EXTRA_ACTIONS[transition]
        accepted = inspect.signature(service).parameters
        kwargs: dict = {"actor": _actor(username, consumer, dispute)}
        for name in TEXT_PARAMETERS:
            if name in accepted:
                kwargs[name] = text
        if "language" in accepted:
            kwargs["language"] = language
        if "body" in accepted:
            if not body_code:
                raise CommandError(f"body_required: {transition} needs --body-code")
            kwargs["body"] = _lookup(DomesticBody, body_code, "domestic_body")
        if amount is not None and "amount" in accepted:
            kwargs["amount"] = _decimal(amount, "amount")
            kwargs["currency"] = currency
        dispute = service(dispute, **kwargs)
        dispute.refresh_from_db()
        self.stdout.write(f"{dispute.reference} {dispute.status}")

    def handle_message(
        self,
        *,
        reference: str,
        username: str | None,
        consumer: bool,
        text: str,
        language: str,
        internal: bool,
        **options,
    ):
        dispute = _dispute(reference)
        message = services.post_message(
            dispute,
            actor=_actor(username, consumer, dispute),
            body=text,
            language=language,
            visible_to_consumer=not internal,
        )
        self.stdout.write(message.uid)

    def handle_document(
        self,
        *,
        reference: str,
        username: str | None,
        consumer: bool,
        file: str,
        note: str,
        language: str,
        **options,
    ):
        dispute = _dispute(reference)
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"file_not_found: {file}")
        evidence = services.add_document(
            dispute,
            actor=_actor(username, consumer, dispute),
            name=path.name,
            content=path.read_bytes(),
            note=note,
            language=language,
        )
        self.stdout.write(evidence.sha256)

    # --- show ---------------------------------------------------------------------------------

    def handle_show(self, *, reference: str, json: bool, **options):
        import json as json_module

        dispute = _dispute(reference)
        summary = {
            "reference": dispute.reference,
            "status": dispute.status,
            "home_agency": dispute.home_agency.code,
            "partner_agency": dispute.partner_agency.code if dispute.partner_agency_id else None,
            "merchant": dispute.merchant_name,
            "amount": str(dispute.amount),
            "currency": dispute.currency,
            "deadlines": {
                name: str(value) if value else None
                for name, value in (
                    ("review_due_on", dispute.review_due_on),
                    ("acknowledge_due_on", dispute.acknowledge_due_on),
                    ("merchant_contact_due_on", dispute.merchant_contact_due_on),
                    ("resolution_due_on", dispute.resolution_due_on),
                )
            },
            "outcome_summary": dispute.outcome_summary,
            "settlement_amount": (
                str(dispute.settlement_amount) if dispute.settlement_amount is not None else None
            ),
            "settlement_currency": dispute.settlement_currency,
            "timeline": [
                {
                    "at": event.at.isoformat(),
                    "actor": event.actor,
                    "actor_name": event.actor_name,
                    "kind": event.kind,
                    "from_status": event.from_status,
                    "to_status": event.to_status,
                    "text": event.text,
                    "language": event.language,
                }
                for event in dispute.timeline.order_by("at", "pk")
            ],
            "messages": [
                {
                    "uid": message.uid,
                    "author_kind": message.author_kind,
                    "author_name": message.author_name,
                    "body": message.body,
                    "language": message.language,
                    "sent_at": message.sent_at.isoformat(),
                }
                for message in dispute.messages.order_by("sent_at", "pk")
            ],
            "evidence": [
                {
                    "name": item.original_name,
                    "sha256": item.sha256,
                    "size": item.size,
                    "content_type": item.content_type,
                    "uploaded_by": item.uploaded_by,
                }
                for item in dispute.evidence.order_by("uploaded_at", "pk")
            ],
        }
        if json:
            self.stdout.write(json_module.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(
            f"{summary['reference']}  {dispute.get_status_display()} ({dispute.status})\n"
            f"home {summary['home_agency']}  partner {summary['partner_agency'] or '-'}  "
            f"merchant {summary['merchant']}  claim {summary['amount']} {summary['currency']}"
        )
        for name, value in summary["deadlines"].items():
            if value:
                self.stdout.write(f"  {name.replace('_', ' ')}: {value}")
        if dispute.outcome_summary:
            self.stdout.write(f"  outcome: {dispute.outcome_summary}")
        self.stdout.write("timeline:")
        for event in summary["timeline"]:
            change = f" {event['from_status']}→{event['to_status']}" if event["to_status"] else ""
            self.stdout.write(
                f"  {event['at'][:19]} {event['actor']:<15} {event['kind']}{change}"
                + (f"  {event['text'][:80]}" if event["text"] else "")
            )
        if summary["messages"]:
            self.stdout.write("messages:")
            for message in summary["messages"]:
                self.stdout.write(
                    f"  [{message['language']}] {message['author_kind']}: {message['body'][:100]}"
                )
        if summary["evidence"]:
            self.stdout.write("evidence:")
            for item in summary["evidence"]:
                self.stdout.write(
                    f"  {item['name']} {item['content_type']} {item['size']} B "
                    f"sha256 {item['sha256'][:12]}… ({item['uploaded_by']})"
                )

    # --- caseworker accounts ------------------------------------------------------------------

    def handle_caseworker(self, *, username: str, password: str | None, email: str, **options):
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email, "is_staff": True}
        )
        user.is_staff = True
        user.is_active = True
        user.set_password(password)
        user.save()
        try:
            group = Group.objects.get(name="Caseworkers")
        except Group.DoesNotExist:
            raise CommandError("no_caseworkers_group: run seed_agencies first") from None
        user.groups.add(group)
        self.stdout.write(
            ("created " if created else "updated ")
            + username
            + (f" password {password}" if generated else "")
        )
