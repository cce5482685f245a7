"""Staff sign-in is locked for a username from an address after repeated wrong passwords."""

from __future__ import annotations

from axes.models import AccessAttempt

from .conftest import sign_in


def test_five_wrong_passwords_lock_the_account_from_that_address(client, plain_caseworker):
    for _ in range(4):
        assert sign_in(client, "budi", "wrong password").status_code == 200
    locked = sign_in(client, "budi", "wrong password")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # Even the right password is refused while the lock lasts.
    again = sign_in(client, "budi")
    assert again.status_code == 429
    assert client.get("/casework/").status_code == 302
    assert AccessAttempt.objects.filter(username="budi").exists()


def test_the_admin_login_is_locked_the_same_way(client, agency_admin):
    for _ in range(5):
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": "admin-bpkn", "password": "nope", "next": "/admin/"},
        )
    assert response.status_code == 429


def test_the_lockout_page_speaks_the_users_language(client, plain_caseworker):
    client.cookies["odr_language"] = "id"
    for _ in range(5):
        response = sign_in(client, "budi", "wrong password")
    assert response.status_code == 429
    assert "Terlalu banyak upaya masuk yang gagal" in response.content.decode()


def test_a_success_before_the_limit_starts_the_count_again(client, plain_caseworker):
    for _ in range(4):
        sign_in(client, "budi", "wrong password")
    assert sign_in(client, "budi").status_code == 302
    client.post("/casework/logout/")
    for _ in range(4):
        assert sign_in(client, "budi", "wrong password").status_code == 200
    assert sign_in(client, "budi").status_code == 302


def test_another_user_is_not_locked_by_someone_elses_failures(client, plain_caseworker, supervisor):
    for _ in range(5):
        sign_in(client, "budi", "wrong password")
    assert sign_in(client, "sari").status_code == 302
