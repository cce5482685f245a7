"""A staff member who forgot their password gets a single-use link by email."""

from __future__ import annotations

import re

from django.core import mail

from .conftest import sign_in

NEW_PASSWORD = "monsoon rain over Jakarta 7"


def test_a_reset_link_by_email_sets_a_new_password(client, plain_caseworker):
    login_page = client.get("/casework/login/").content.decode()
    assert "/accounts/password-reset/" in login_page
    response = client.post("/accounts/password-reset/", {"email": plain_caseworker.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [plain_caseworker.email]
    link = re.search(r"https?://[^/]+(/accounts/password-reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert sign_in(client, "budi", NEW_PASSWORD).status_code == 302

    used_again = client.get(link, follow=True)
    assert "This link is not valid any more" in used_again.content.decode()


def test_an_unknown_address_sends_nothing_and_says_the_same(client, plain_caseworker):
    response = client.post("/accounts/password-reset/", {"email": "nobody@elsewhere.example"})
    assert response.status_code == 302
    assert mail.outbox == []
