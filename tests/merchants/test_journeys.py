"""The merchant's part end to end, in a real Chromium against two real nodes (BPKN and KCA, each
with its own gunicorn, Celery worker and beat): a merchant who settles, and one who stays
silent while two beat processes run the reply clock. Screenshots of every step go to
test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from pathlib import Path

import pytest

from odr.cluster import LocalCluster, file_and_forward, wait_for, wait_status
from tests.relay.test_multinode import cluster_options

pytestmark = [pytest.mark.multinode, pytest.mark.browser]
PASSWORD = "a-long-test-password-1"
MERCHANT_EMAIL = "cs@seoulgadget.example.kr"
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    with LocalCluster(
        tmp_path_factory.mktemp("merchant-nodes"),
        ("ID-BPKN", "KR-KCA"),
        extra_env={
            "ODR_RELAY_SWEEP_SECONDS": "1",
            "ODR_RELAY_BACKOFF_BASE_SECONDS": "1",
            "ODR_RELAY_BACKOFF_MAX_SECONDS": "3",
            "ODR_MERCHANT_CLOCK_SECONDS": "1",
            "ODR_EMAIL_BATCH_SECONDS": "0.2",
        },
        collect_static=True,
        **cluster_options(),
    ) as cluster:
        cluster["ID-BPKN"].dispute("caseworker", "budi", "--password", PASSWORD)
        cluster["KR-KCA"].dispute("caseworker", "minji", "--password", PASSWORD)
        yield cluster


def link_in_mail(node, to: str, pattern: str, *, containing: str = "") -> str:
    """The last link matching ``pattern`` in an email to ``to`` (that mentions ``containing``)
    the node has sent."""

    def found():
        links = re.findall(pattern, read_mail(node, to, containing))
        return links[-1] if links else None

    return wait_for(found, timeout=60, interval=0.5, what=f"an email to {to} with {pattern}")


def facts(node, reference: str) -> dict:
    code = (
        "import json; from disputes.models import Dispute; "
        f"d = Dispute.objects.get(reference={reference!r}); "
        "print(json.dumps({'status': d.status, 'terms': d.outcome_summary or d.settlement_proposal,"
        " 'amount': str(d.settlement_amount), 'currency': d.settlement_currency,"
        " 'remedy': d.settlement_remedy, 'due': str(d.settlement_due_on),"
        " 'performed': str(d.settlement_performed_on), 'receipt': d.consumer_receipt}))"
    )
    return json.loads(node.shell(code).strip().splitlines()[-1])


def wait_fact(node, reference: str, name: str, value, timeout: float = 90) -> dict:
    return wait_for(
        lambda: (shown := facts(node, reference))[name] == value and shown,
        timeout=timeout,
        interval=0.5,
        what=f"{name} = {value} at {node.code}",
    )


def sign_in(page, node, username: str):
    page.goto(f"{node.url}/casework/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{node.url}/casework/")


def invite_merchant(page, kca, reference: str, screenshot, label: str):
    page.goto(f"{kca.url}/casework/disputes/{reference}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Accept the case").click()
    page.fill("#id_invite_contact_email", MERCHANT_EMAIL)
    page.select_option("#id_invite_language", "ko")
    screenshot(page, f"{label}-kca-invites")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the invitation").click()
    assert "Merchant contacted" in page.locator(".dispute-status").inner_text()


def seoul_today() -> dt.date:
    return dt.datetime.now(SEOUL).date()


def test_the_merchant_answers_in_korean_and_the_case_settles_on_both_nodes(
    nodes, chromium, screenshot
):
    bpkn, kca = nodes["ID-BPKN"], nodes["KR-KCA"]
    reference = file_and_forward(bpkn, "budi")
    wait_status(kca, reference, "forwarded")

    staff = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    merchant = chromium.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    consumer = chromium.new_context(locale="id-ID", viewport={"width": 390, "height": 844})
    try:
        caseworker = staff.new_page()
        sign_in(caseworker, kca, "minji")
        invite_merchant(caseworker, kca, reference, screenshot, "settles")

        # The merchant opens the link in the Korean email.
        shop = merchant.new_page()
        shop.goto(
            link_in_mail(kca, MERCHANT_EMAIL, r"http://\S+/merchant/\?t=\S+", containing=reference)
        )
        shop.wait_for_url("**/merchant/case/")
        assert "dewi@example.id" not in shop.content() and "0000 1111" not in shop.content()
        assert "고객 불만" in shop.locator("h1").inner_text()
        screenshot(shop, "settles-merchant-opens")
        shop.fill("#id_answer_text", "배송이 늦어져 죄송합니다. 전액 환불해 드리겠습니다.")
        with shop.expect_navigation():
            shop.get_by_role("button", name="답변 보내기").click()
        screenshot(shop, "settles-merchant-answered")
        shop.locator("#propose summary").click()
        shop.select_option("#id_propose_remedy", "refund")
        shop.fill("#id_propose_amount", "1250000")
        shop.fill("#id_propose_currency", "IDR")
        due = seoul_today() + dt.timedelta(days=14)
        shop.fill("#id_propose_perform_by", due.isoformat())
        shop.fill("#id_propose_text", "14일 안에 1,250,000 루피아 전액 환불")
        screenshot(shop, "settles-merchant-proposes")
        with shop.expect_navigation():
            shop.get_by_role("button", name="제안 보내기").click()
        assert shop.locator("[data-testid=proposal-pending]").is_visible()

        # The consumer accepts at home, in Indonesian.
        wait_fact(bpkn, reference, "remedy", "refund")
        track = consumer.new_page()
        track.goto(
            link_in_mail(bpkn, "dewi@example.id", r"http://\S+/track/\S+/", containing=reference)
        )
        assert "Penjual menjawab; negosiasi dimulai" in track.content()
        assert "배송이 늦어져 죄송합니다" in track.content()
        screenshot(track, "settles-consumer-sees-proposal")
        with track.expect_navigation():
            track.locator("form:has(input[name=decision][value=accept]) button").click()
        wait_status(kca, reference, "settled")

        # The merchant confirms the payment; the consumer confirms receipt.
        shop.reload()
        shop.fill("#id_performed_performed_on", seoul_today().isoformat())
        shop.fill("#id_performed_note", "국민은행 송금 2026-SGS-001")
        screenshot(shop, "settles-merchant-confirms-payment")
        with shop.expect_navigation():
            shop.locator("[data-testid=form-performed] button").click()
        wait_fact(bpkn, reference, "performed", seoul_today().isoformat())
        track.reload()
        assert "Penjual menyatakan penyelesaian sudah dilaksanakan" in track.content()
        track.check("input[name=received][value=yes]")
        screenshot(track, "settles-consumer-confirms-receipt")
        with track.expect_navigation():
            track.locator("[data-testid=form-receipt] button").click()
        wait_fact(kca, reference, "receipt", "received")

        at_home, at_partner = facts(bpkn, reference), facts(kca, reference)
        assert at_home == at_partner
        assert at_home["status"] == "settled"
        assert (at_home["amount"], at_home["currency"], at_home["remedy"]) == (
            "1250000.00",
            "IDR",
            "refund",
        )
        assert at_home["due"] == due.isoformat() and at_home["receipt"] == "received"
        screenshot(track, "settles-consumer-settled")
        caseworker.goto(f"{kca.url}/casework/disputes/{reference}/")
        assert "1,250,000" in caseworker.locator("[data-testid=settlement-terms]").inner_text()
        screenshot(caseworker, "settles-kca-settled")
    finally:
        for context in (staff, merchant, consumer):
            context.close()


def read_mail(node, to: str, containing: str = "") -> str:
    """Every email to ``to`` (that mentions ``containing``) the node has written, oldest first."""
    mails = sorted(Path(node.data_dir, "mail").glob("*.log"), key=lambda p: p.stat().st_mtime)
    texts = [path.read_text("utf-8", errors="replace") for path in mails]
    return "\n".join(text for text in texts if f"To: {to}" in text and containing in text)


def move_deadline(node, reference: str, due: dt.date) -> None:
    node.shell(
        "from disputes.models import Dispute; "
        f"Dispute.objects.filter(reference={reference!r})"
        f".update(merchant_reply_due_on={due.isoformat()!r})"
    )


def count_notices(node, reference: str, kind: str) -> int:
    out = node.shell(
        "from merchants.models import MerchantNotice; print(MerchantNotice.objects.filter("
        f"dispute__reference={reference!r}, kind={kind!r}, sent_at__isnull=False).count())"
    )
    return int(out.strip().splitlines()[-1])


def count_silences(node, reference: str) -> int:
    out = node.shell(
        "from disputes.models import TimelineEvent; print(TimelineEvent.objects.filter("
        f"dispute__reference={reference!r}, data__transition='record_merchant_silence').count())"
    )
    return int(out.strip().splitlines()[-1])


def adjudicator(node) -> str:
    out = node.shell(
        "from agencies.models import DomesticBody; print(DomesticBody.objects.filter("
        "handles_adjudication=True, country__code='KR').order_by('code').first().pk)"
    )
    return out.strip().splitlines()[-1]


def clock_ticks(node) -> int:
    """How often the node's beat processes have queued the reply clock so far."""
    logs = Path(node.data_dir, "logs")
    return sum(
        path.read_text("utf-8", errors="replace").count("merchants-reply-clock")
        for path in logs.glob("beat*.log")
    )


def test_a_silent_merchant_is_reminded_once_and_the_case_goes_to_adjudication(
    nodes, chromium, screenshot
):
    bpkn, kca = nodes["ID-BPKN"], nodes["KR-KCA"]
    reference = file_and_forward(bpkn, "budi", order_number="SGS-2026-99001")
    wait_status(kca, reference, "forwarded")
    staff = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    consumer = chromium.new_context(locale="id-ID", viewport={"width": 390, "height": 844})
    beat_2 = kca.start_beat("beat-2")
    try:
        caseworker = staff.new_page()
        sign_in(caseworker, kca, "minji")
        invite_merchant(caseworker, kca, reference, screenshot, "silent")
        link_in_mail(kca, MERCHANT_EMAIL, r"/merchant/\?t=\S+", containing=reference)
        invitations = len(re.findall(r"/merchant/\?t=", read_mail(kca, MERCHANT_EMAIL, reference)))

        # Time passes (the reply deadline is moved, not the clock): tomorrow is the last day.
        move_deadline(kca, reference, seoul_today() + dt.timedelta(days=1))
        wait_for(
            lambda: count_notices(kca, reference, "reminder") == 1,
            timeout=60,
            interval=0.5,
            what="the merchant's reminder",
        )
        mail = read_mail(kca, MERCHANT_EMAIL, reference)
        assert "답변을 아직 받지 못했습니다" in mail
        assert len(re.findall(r"/merchant/\?t=", mail)) == invitations + 1

        # The deadline has passed: silence is recorded once, and both nodes go to mediation.
        move_deadline(kca, reference, seoul_today() - dt.timedelta(days=1))
        wait_status(kca, reference, "mediation")
        wait_status(bpkn, reference, "mediation")
        # Both beats go on running the clock; after several more rounds, still once each.
        ticks = clock_ticks(kca)
        wait_for(lambda: clock_ticks(kca) >= ticks + 6, timeout=60, interval=0.5, what="ticks")
        assert count_notices(kca, reference, "reminder") == 1
        assert count_silences(kca, reference) == 1

        caseworker.goto(f"{kca.url}/casework/disputes/{reference}/")
        screenshot(caseworker, "silent-kca-mediation")
        action = caseworker.locator("details:has(form[data-action=refer_to_adjudication])")
        action.locator("summary").click()
        action.locator("select[name=body]").select_option(adjudicator(kca))
        action.locator("textarea[name=reason]").fill("The merchant did not respond.")
        with caseworker.expect_navigation():
            action.get_by_role("button", name="Refer to adjudication").click()
        wait_status(bpkn, reference, "referred_to_adjudication")
        screenshot(caseworker, "silent-kca-referred")

        track = consumer.new_page()
        track.goto(
            link_in_mail(bpkn, "dewi@example.id", r"http://\S+/track/\S+/", containing=reference)
        )
        assert "Penjual tidak menjawab tepat waktu; lembaga akan memediasi" in track.content()
        assert "The merchant did not respond by" not in track.content()
        assert track.locator("[data-testid=referral]").is_visible()
        screenshot(track, "silent-consumer-referred")
    finally:
        beat_2.stop()
        staff.close()
        consumer.close()
