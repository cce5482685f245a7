"""Only caseworkers reach the caseworker screens, and only for their own agency's disputes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import file_dispute
from tests.staff import login


@pytest.fixture
def dispute(seeded):
    return file_dispute()


def screens(dispute):
    return [
        ("get", reverse("casework:queue")),
        ("get", reverse("casework:file")),
        ("get", reverse("casework:detail", args=[dispute.reference])),
        ("post", reverse("casework:act", args=[dispute.reference, "start_review"])),
        ("post", reverse("casework:post_message", args=[dispute.reference])),
        ("post", reverse("casework:add_document", args=[dispute.reference])),
    ]


def test_anonymous_people_are_sent_to_the_login_page(client, dispute):
    for method, url in screens(dispute):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("casework:login")), url
    dispute.refresh_from_db()
    assert dispute.status == "submitted"


def test_signed_in_non_caseworkers_are_refused(client, outsider, dispute):
    login(client, outsider)
    for method, url in screens(dispute):
        assert getattr(client, method)(url).status_code == 403, url
    dispute.refresh_from_db()
    assert dispute.status == "submitted"


def test_a_caseworker_signs_in_and_lands_on_the_queue(client, caseworker, dispute):
    page = client.get(reverse("casework:login"))
    assert page.status_code == 200
    response = client.post(
        reverse("casework:login"),
        {"username": caseworker.username, "password": "correct horse battery staple"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("casework:queue")
    assert dispute.reference in response.content.decode()


def test_a_wrong_password_is_refused_with_a_message(client, caseworker):
    response = client.post(
        reverse("casework:login"), {"username": caseworker.username, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_a_post_and_ends_the_session(caseworker_client):
    response = caseworker_client.post(reverse("casework:logout"))
    assert response.status_code == 302
    assert caseworker_client.get(reverse("casework:queue")).status_code == 302


def test_forms_are_csrf_protected(caseworker, dispute):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, caseworker)
    response = client.post(reverse("casework:act", args=[dispute.reference, "start_review"]))
    assert response.status_code == 403
    dispute.refresh_from_db()
    assert dispute.status == "submitted"


def test_a_dispute_of_two_other_agencies_is_not_found(caseworker_client, settings, dispute):
    # Seen from the UK ICC node, BPKN's dispute that was never shared with it does not exist.
    settings.ODR_NODE = "GB-UKICC"
    url = reverse("casework:detail", args=[dispute.reference])
    assert caseworker_client.get(url).status_code == 404
    assert (
        dispute.reference not in caseworker_client.get(reverse("casework:queue")).content.decode()
    )
