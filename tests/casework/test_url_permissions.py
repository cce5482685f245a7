"""Every casework URL (the casework screens and the merchant pages under /casework/), walked
from the URL conf, for each role: anonymous people, signed-in people who are not caseworkers,
staff of another agency with an account on this node, a caseworker on a case someone else owns,
and a supervisor. A new casework view without an entry here fails
``test_every_casework_url_has_a_permission_check``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from agencies.models import DomesticBody
from casework import services as casework_services
from casework.models import SavedView
from disputes import services
from enforcement.services import prepare_referral
from tests.factories import CaseworkerFactory, SupervisorFactory, file_dispute, staff_of_agency
from tests.staff import login

# name -> (method, who may use it: "anyone", "caseworker" or "supervisor", takes a dispute)
CASEWORK_URLS = {
    "login": ("get", "anyone", False),
    "logout": ("post", "anyone", False),
    "queue": ("get", "caseworker", False),
    "file": ("get", "caseworker", False),
    "workload": ("get", "supervisor", False),
    "save_view": ("post", "caseworker", False),
    "delete_view": ("post", "caseworker", False),
    "detail": ("get", "caseworker", True),
    # On an unassigned case a caseworker may take it (test_assignment.py); here it is owned.
    "assign": ("post", "supervisor", True),
    "decide_referral": ("post", "supervisor", True),
    "act": ("post", "caseworker", True),
    "post_message": ("post", "caseworker", True),
    "translate_message": ("post", "caseworker", True),
    "add_document": ("post", "caseworker", True),
    "evidence": ("get", "caseworker", True),
    "translate_account": ("post", "caseworker", True),
    "invite_merchant": ("post", "caseworker", True),
    "revoke_merchant_link": ("post", "caseworker", True),
}
# The merchant watch: any caseworker of the agency sees merchants and referrals (no consumer's
# personal data on them); deciding a referral is a supervisor's (tests/enforcement).
ENFORCEMENT_URLS = {
    "merchants": ("get", "caseworker", False),
    "merchant": ("get", "caseworker", False),
    "prepare_referral": ("post", "caseworker", False),
    "referral": ("get", "caseworker", False),
    "referral_pdf": ("get", "caseworker", False),
}
NAMESPACES = ("casework", "enforcement")
URLS = {f"casework:{name}": spec for name, spec in CASEWORK_URLS.items()} | {
    f"enforcement:{name}": spec for name, spec in ENFORCEMENT_URLS.items()
}


def casework_url_names() -> set[str]:
    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace in NAMESPACES:
                yield f"{namespace}:{pattern.name}"

    return set(walk(get_resolver().url_patterns, None))


def test_every_casework_url_has_a_permission_check():
    assert casework_url_names() == set(URLS), "add the new casework URL to URLS with its role"


@pytest.fixture
def world(seeded):
    supervisor = SupervisorFactory()
    owner = CaseworkerFactory()
    dispute = file_dispute(
        evidence=[
            ("receipt.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")
        ]
    )
    services.post_message(
        dispute, actor=services.Actor.caseworker(owner), body="Hello", language="en"
    )
    casework_services.assign_dispute(dispute, owner, by=supervisor, agency=seeded["ID-BPKN"])
    services.start_review(dispute, actor=services.Actor.caseworker(owner))
    casework_services.request_referral(
        dispute,
        by=owner,
        body=DomesticBody.objects.get(code="id-bpsk-jakarta"),
        reason="Merchant is local.",
    )
    view = SavedView.objects.create(user=owner, name="Mine", query="assigned=me")
    referral = prepare_referral(
        agency=seeded["ID-BPKN"],
        by=owner,
        merchant_key=dispute.merchant_key,
        authority=DomesticBody.objects.get(code="id-komdigi"),
        recommendation="Block the site.",
        filed_from=dispute.filed_at.date() - dt.timedelta(days=1),
        filed_to=dispute.filed_at.date() + dt.timedelta(days=1),
    )
    return {
        "supervisor": supervisor,
        "owner": owner,
        "dispute": dispute,
        "view": view,
        "referral": referral,
    }


def url_of(name: str, world) -> str:
    dispute = world["dispute"]
    key, number = dispute.merchant_key, world["referral"].number
    kwargs = {
        "enforcement:merchant": [key],
        "enforcement:prepare_referral": [key],
        "enforcement:referral": [number],
        "enforcement:referral_pdf": [number],
        "detail": [dispute.reference],
        "assign": [dispute.reference],
        "decide_referral": [dispute.reference],
        "act": [dispute.reference, "request_clarification"],
        "post_message": [dispute.reference],
        "translate_message": [dispute.reference, dispute.messages.first().pk],
        "add_document": [dispute.reference],
        "evidence": [dispute.reference, dispute.evidence.first().pk],
        "translate_account": [dispute.reference],
        "invite_merchant": [dispute.reference],
        "revoke_merchant_link": [dispute.reference],
        "delete_view": [world["view"].pk],
    }
    return reverse(name, args=kwargs.get(name, kwargs.get(name.split(":")[1], [])))


def call(client, name, world):
    method, _role, _takes_dispute = URLS[name]
    return getattr(client, method)(url_of(name, world))


GUARDED = sorted(name for name, (_m, role, _d) in URLS.items() if role != "anyone")


@pytest.mark.parametrize("name", GUARDED)
def test_anonymous_people_go_to_the_login_page(client, world, name):
    response = call(client, name, world)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("casework:login"))


@pytest.mark.parametrize("name", GUARDED)
def test_signed_in_people_who_are_not_caseworkers_are_refused(client, world, name):
    from django.contrib.auth.models import User

    login(client, User.objects.create_user("clerk", password="x" * 20))
    assert call(client, name, world).status_code == 403


@pytest.mark.parametrize("name", GUARDED)
def test_a_supervisor_of_another_agency_on_this_node_is_refused(client, world, name):
    # Same groups as BPKN's own supervisor, but KCA's member of staff: nothing of BPKN's.
    login(client, staff_of_agency(SupervisorFactory(), "KR-KCA"))
    assert call(client, name, world).status_code == 403
    world["dispute"].refresh_from_db()
    assert world["dispute"].status == "under_review"


@pytest.mark.parametrize("name", sorted(n for n, (_m, _r, d) in URLS.items() if d))
def test_a_caseworker_cannot_open_a_case_someone_else_owns(client, world, name):
    login(client, CaseworkerFactory())
    assert call(client, name, world).status_code == 404
    world["dispute"].refresh_from_db()
    assert world["dispute"].status == "under_review"


@pytest.mark.parametrize("name", sorted(n for n, (_m, r, _d) in URLS.items() if r == "supervisor"))
def test_supervisor_pages_refuse_caseworkers(client, world, name):
    login(client, world["owner"])
    assert call(client, name, world).status_code == 403


@pytest.mark.parametrize("name", GUARDED)
def test_the_owner_or_a_supervisor_gets_through(client, world, name):
    _method, role, _takes_dispute = URLS[name]
    login(client, world["supervisor"] if role == "supervisor" else world["owner"])
    # Through the permission checks: a page, a redirect after a change, or a form error.
    assert call(client, name, world).status_code in (200, 302, 400)


def test_a_caseworker_of_another_agency_on_this_node_does_not_see_the_queue(client, world):
    login(client, staff_of_agency(CaseworkerFactory(), "GB-UKICC"))
    response = client.get(reverse("casework:queue"))
    assert response.status_code == 403
    assert world["dispute"].reference not in response.content.decode()
