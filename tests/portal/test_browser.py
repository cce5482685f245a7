"""Consumers filing and following disputes in a real browser, against a live server, with the
real Celery worker sending the emails. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.core import mail
from django.utils import translation

from disputes import services
from disputes.models import Dispute, Status
from tests.portal.conftest import EXE, PDF, PNG


def wait_for_email(to: str, contains: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for email in mail.outbox:
            if to in email.to and contains in email.body:
                return email
        time.sleep(0.1)
    raise AssertionError(f"no email to {to} containing {contains!r} within {timeout}s")


def file_upload(name: str, content: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": content}


def continue_step(page):
    page.click("button[name=action][value=next]")


def fill_you(page, *, name, email, country, language):
    page.fill("[name=consumer_name]", name)
    page.fill("[name=consumer_email]", email)
    page.fill("[name=consumer_phone]", "+62 812 0000 1111")
    page.select_option("[name=consumer_country]", country)
    page.check(f"input[name=consumer_language][value={language}]")


def fill_merchant(page, *, country):
    page.fill("[name=merchant_name]", "Seoul Gadget Store")
    page.fill("[name=merchant_website]", "https://seoulgadget.example.kr")
    page.select_option("[name=merchant_country]", country)


def fill_purchase(page, *, amount, currency):
    from agencies.models import Category

    page.select_option("[name=category]", str(Category.objects.get(code="electronics").pk))
    page.fill("[name=purchase_date]", "2026-10-01")
    page.fill("[name=order_number]", "SGS-2026-88812")
    page.fill("[name=amount]", amount)
    page.select_option("[name=currency]", currency)
    page.check("input[name=payment_method][value=card]")
    page.fill("[name=platform]", "Seoul Gadget web shop")


def fill_problem(page, account: str):
    from disputes.models import ProblemType, Remedy

    page.check(
        f"input[name=problem_types][value='{ProblemType.objects.get(code='non_delivery').pk}']"
    )
    page.check(f"input[name=desired_remedy][value='{Remedy.objects.get(code='refund').pk}']")
    page.fill("[name=consumer_account]", account)


def tracking_link_in(email, live_server) -> str:
    link = re.search(r"\S+/track/\S+/", email.body).group(0)
    return link.replace(settings.ODR_PUBLIC_URL, live_server.url)


def test_indonesian_consumer_files_on_a_phone_resumes_a_draft_and_settles(
    seeded, caseworker, live_server, celery_worker, chromium, screenshot
):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    screenshot(page, "home-360")
    page.click("main a[href='/file/']")

    # Step 1, with a mistake first: the error shows next to the field, typed values stay.
    fill_you(page, name="Dewi Lestari", email="dewi-at-example", country="ID", language="id")
    continue_step(page)
    assert page.locator("#id_consumer_email[aria-invalid=true]").count() == 1
    assert page.locator("#id_consumer_name").input_value() == "Dewi Lestari"
    screenshot(page, "step1-error-360")
    page.fill("[name=consumer_email]", "dewi@example.id")
    continue_step(page)
    assert page.url.endswith("/file/merchant/")
    fill_merchant(page, country="KR")
    screenshot(page, "step2-merchant-360")
    continue_step(page)
    fill_purchase(page, amount="1250000", currency="IDR")
    screenshot(page, "step3-purchase-360")
    continue_step(page)

    # Step 4 half done, saved by the progressive-enhancement script; then the tab is closed.
    with page.expect_response(lambda r: "/file/problem/" in r.url and r.status == 204):
        page.fill("[name=consumer_account]", "Saya membayar headphone tetapi tidak dikirim.")
        page.locator("[name=consumer_account]").blur()
    page.close()

    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + "/file/")
    screenshot(page, "resume-offer-360")
    page.click("main a.button[href='/file/problem/']")
    account = page.locator("[name=consumer_account]")
    assert account.input_value() == "Saya membayar headphone tetapi tidak dikirim."
    assert page.locator(".error-summary").count() == 0  # not yet asked to continue: no errors
    fill_problem(page, "Saya membayar headphone tetapi barang tidak pernah dikirim.")
    screenshot(page, "step4-problem-360")
    continue_step(page)

    page.set_input_files(
        "#id_files",
        [
            file_upload("struk.pdf", PDF, "application/pdf"),
            file_upload("pesanan.png", PNG, "image/png"),
            file_upload("palsu.pdf", EXE, "application/pdf"),
        ],
    )
    page.click("button[name=action][value=upload]")
    assert "palsu.pdf" in page.locator(".error-summary").inner_text()
    assert page.locator(".file-list li").count() == 2
    screenshot(page, "step5-evidence-360")
    page.click("button[name=action][value=continue]")

    assert page.url.endswith("/file/review/")
    assert page.locator(".coverage--ok").count() == 1
    screenshot(page, "step6-review-360")
    page.check("[name=confirm]")
    page.click("button[name=action][value=submit]")
    reference = page.locator("[data-testid=reference]").inner_text().strip()
    assert re.fullmatch(r"BPKN-\d{4}-\d{6}", reference)
    screenshot(page, "confirmation-360")
    dispute = Dispute.objects.get(reference=reference)
    assert dispute.filing_language == "id" and dispute.consumer_language == "id"
    assert dispute.evidence.count() == 2

    receipt = wait_for_email("dewi@example.id", reference)
    page.goto(tracking_link_in(receipt, live_server))
    assert reference in page.locator("h1").inner_text()
    screenshot(page, "tracking-360")

    # The caseworker asks a question; the consumer answers with a photo.
    actor = services.Actor.caseworker(caseworker)
    services.start_review(dispute, actor=actor)
    services.request_clarification(
        dispute, actor=actor, question="Kapan tepatnya Anda membayar?", language="id"
    )
    question_email = wait_for_email("dewi@example.id", "Kapan tepatnya Anda membayar?")
    assert question_email.subject.startswith(reference)
    page.reload()
    assert "Kapan tepatnya Anda membayar?" in page.locator("#clarification").inner_text()
    screenshot(page, "clarification-360")
    page.fill("#clarification [name=answer]", "Tanggal 1 Oktober 2026, dengan kartu kredit.")
    page.set_input_files(
        "#clarification [name=files]", [file_upload("bayar.png", PNG[:-1] + b"\x83", "image/png")]
    )
    page.click("#clarification button[type=submit]")
    dispute.refresh_from_db()
    assert dispute.status == Status.UNDER_REVIEW
    assert dispute.evidence.filter(original_name="bayar.png").exists()

    # Forwarded to KCA, the merchant is contacted and offers a refund; the consumer accepts.
    services.forward_dispute(dispute, actor=actor)
    partner = services.Actor.agency("KR-KCA")
    services.accept_forwarded(dispute, actor=partner)
    dispute.refresh_from_db()
    stage = partner if "merchant_contact" in (dispute.mou.partner_stages or []) else actor
    services.contact_merchant(dispute, actor=stage)
    services.propose_settlement(
        dispute,
        actor=stage,
        proposal="Pengembalian dana penuh dalam 14 hari.",
        language="id",
        amount=1250000,
        currency="IDR",
    )
    wait_for_email("dewi@example.id", "Pengembalian dana penuh dalam 14 hari.")
    page.reload()
    assert "Pengembalian dana penuh" in page.locator("#settlement").inner_text()
    screenshot(page, "settlement-360")
    page.click("#settlement form:first-of-type button[type=submit]")
    dispute.refresh_from_db()
    assert dispute.status == Status.SETTLED
    with translation.override("id"):
        settled = str(Status.SETTLED.label)
    assert page.locator("[data-testid=status]").inner_text().strip() == settled
    screenshot(page, "settled-360")
    context.close()


def test_korean_consumer_switches_language_and_files_with_evidence(
    seeded, live_server, celery_worker, page, screenshot
):
    page.goto(live_server.url + "/")
    page.select_option("#language-select", "ko")
    page.click(".language-switcher button[type=submit]")
    assert page.locator("html").get_attribute("lang") == "ko"
    screenshot(page, "home-ko")
    page.click("main a[href='/file/']")
    fill_you(page, name="김민지", email="minji@example.kr", country="KR", language="ko")
    assert page.locator("input[name=consumer_language][value=ko]").is_checked()
    screenshot(page, "step1-ko")
    continue_step(page)
    # A Korean consumer buying from a shop in the UK: no active MoU, so the form says where to go.
    fill_merchant(page, country="GB")
    continue_step(page)
    fill_purchase(page, amount="89000", currency="KRW")
    continue_step(page)
    fill_problem(page, "헤드폰 대금을 결제했지만 배송되지 않았습니다.")
    continue_step(page)
    page.set_input_files("#id_files", [file_upload("영수증.pdf", PDF, "application/pdf")])
    page.click("button[name=action][value=continue]")
    assert page.locator(".coverage--warn").count() == 1
    assert page.locator(".coverage .bodies li").count() >= 1
    screenshot(page, "review-not-covered-ko")
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, "review-not-covered-ko-360")
    page.check("[name=confirm]")
    page.click("button[name=action][value=submit]")
    reference = page.locator("[data-testid=reference]").inner_text().strip()
    dispute = Dispute.objects.get(reference=reference)
    assert dispute.filing_language == "ko" and dispute.consumer_language == "ko"
    assert dispute.evidence.get().original_name == "영수증.pdf"
    screenshot(page, "confirmation-ko-360")

    receipt = wait_for_email("minji@example.kr", reference)
    assert "김민지" in receipt.body
    page.goto(tracking_link_in(receipt, live_server))
    screenshot(page, "tracking-ko-360")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "tracking-ko")
    # The consumer's own file is downloadable through the link, and nowhere else.
    with page.expect_download() as download:
        page.click("a[href*='/documents/']")
    assert download.value.suggested_filename == "영수증.pdf"
