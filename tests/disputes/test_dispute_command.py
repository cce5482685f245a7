"""The operator CLI (`manage.py dispute`): what an operator types and what they read back."""

from __future__ import annotations

import io
import json
import sys

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from disputes.models import Dispute
from odr.cluster import SAMPLE_DISPUTE

PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


def run(*args, stdin: str = "") -> str:
    out = io.StringIO()
    old_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        call_command("dispute", *args, stdout=out)
    finally:
        sys.stdin = old_stdin
    return out.getvalue().strip()


@pytest.fixture
def filed(seeded, caseworker, tmp_path):
    receipt = tmp_path / "bukti.pdf"
    receipt.write_bytes(PDF)
    return run("file", "--evidence", str(receipt), stdin=json.dumps(SAMPLE_DISPUTE))


@pytest.mark.django_db
def test_file_review_forward_and_show(filed, caseworker):
    dispute = Dispute.objects.get(reference=filed)
    assert dispute.consumer_name == "Dewi Lestari"
    assert dispute.filing_language == "id"
    assert dispute.evidence.get().original_name == "bukti.pdf"

    assert run("act", filed, "start_review", "--as", caseworker.username).endswith("under_review")
    assert run("act", filed, "forward", "--as", caseworker.username).endswith("forwarded")
    uid = run("message", filed, "--as", caseworker.username, "--language", "en", "--text", "Hi")

    shown = json.loads(run("show", filed, "--json"))
    assert shown["status"] == "forwarded"
    assert shown["partner_agency"] == "KR-KCA"
    assert shown["deadlines"]["acknowledge_due_on"]
    assert [m["uid"] for m in shown["messages"]] == [uid]
    assert [e["name"] for e in shown["evidence"]] == ["bukti.pdf"]
    assert [e["to_status"] for e in shown["timeline"] if e["to_status"]] == [
        "submitted",
        "under_review",
        "forwarded",
    ]
    assert "Forwarded to partner agency" in run("show", filed)


@pytest.mark.django_db
def test_refusals_carry_the_domain_code(filed, caseworker):
    with pytest.raises(CommandError, match=r"^illegal_transition: "):
        run("act", filed, "accept_forwarded", "--as", caseworker.username)
    with pytest.raises(CommandError, match=r"^not_found: "):
        run("show", "BPKN-2026-999999")
    with pytest.raises(CommandError, match=r"^unknown_user: "):
        run("act", filed, "start_review", "--as", "nobody")
    with pytest.raises(CommandError, match=r"^missing_fields: consumer_email"):
        run("file", stdin=json.dumps({**SAMPLE_DISPUTE, "consumer_email": ""}))
    assert Dispute.objects.count() == 1  # nothing half-written


@pytest.mark.django_db
def test_caseworker_account_gets_a_generated_password(seeded):
    out = run("caseworker", "siti")
    password = out.split("password ")[1]
    user = User.objects.get(username="siti")
    assert user.is_staff and user.check_password(password)
    assert user.has_perm("disputes.handle_dispute")
