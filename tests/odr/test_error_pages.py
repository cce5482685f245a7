"""People who hit an error get a page in their language that says what happened and what to do;
API clients get the API's JSON error shape."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from odr import views

pytestmark = pytest.mark.django_db


def test_an_unknown_page_is_a_404_page_in_the_visitors_language(client, seeded):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 404
    page = response.content.decode()
    with translation.override("ko"):
        assert translation.gettext("Page not found") in page
        assert translation.gettext("Page not found") != "Page not found"
    assert reverse("portal:find") in page  # where to ask for a new tracking link
    assert 'lang="ko"' in page


def test_an_unknown_api_url_still_answers_in_json(client, seeded):
    response = client.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_signed_in_person_without_casework_permission_gets_the_403_page(client, seeded):
    user = get_user_model().objects.create_user("visitor", password="a-long-password-123")
    client.force_login(user)

    response = client.get(reverse("casework:queue"), HTTP_ACCEPT_LANGUAGE="id")

    assert response.status_code == 403
    with translation.override("id"):
        assert translation.gettext("You may not open this page") in response.content.decode()


def test_a_form_sent_without_its_csrf_token_says_how_to_send_it_again(seeded):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(reverse("portal:find"), {"email": "dewi@example.id"})

    assert response.status_code == 403
    page = response.content.decode()
    assert "This form has expired" in page
    assert "reload the page" in page


def test_a_server_error_page_needs_no_database_and_says_nothing_sent_is_lost(seeded):
    request = RequestFactory().get("/file/")
    with translation.override("en"):
        response = views.server_error(request)

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "what you sent is safe" in page
