"""Which language a person gets: their choice, then their browser, then English."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.timezone import localtime

pytestmark = pytest.mark.django_db

SKIP_LINK = {
    "en": "Skip to content",
    "id": "Langsung ke isi halaman",
    "ko": "본문으로 건너뛰기",
}


def _page(client, **headers):
    response = client.get(reverse("casework:login"), **headers)
    assert response.status_code == 200
    return response.content.decode()


def _shows(html, language):
    return f'<html lang="{language}"' in html and SKIP_LINK[language] in html


def test_browser_language_korean_gives_korean(client, seeded):
    assert _shows(_page(client, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5"), "ko")


def test_browser_language_indonesian_gives_indonesian(client, seeded):
    assert _shows(_page(client, HTTP_ACCEPT_LANGUAGE="id-ID,id;q=0.9"), "id")


def test_unknown_browser_language_falls_back_to_english(client, seeded):
    assert _shows(_page(client, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,de;q=0.5"), "en")


def test_chosen_language_cookie_beats_the_browser(client, seeded):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "id"
    assert _shows(_page(client, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9"), "id")


def test_language_switcher_sets_the_choice_for_later_pages(client, seeded):
    html = _page(client, HTTP_ACCEPT_LANGUAGE="en")
    assert 'action="/i18n/setlang/"' in html
    response = client.post(
        reverse("set_language"), {"language": "ko", "next": reverse("casework:login")}
    )
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"
    assert _shows(_page(client, HTTP_ACCEPT_LANGUAGE="en"), "ko")


def test_a_caseworker_works_in_their_own_language_and_sees_the_consumers_words_as_written(
    client, caseworker
):
    from tests.factories import file_dispute

    account = "Saya membayar headphone tetapi barang tidak pernah dikirim."
    dispute = file_dispute(consumer_account=account, filing_language="id")
    client.force_login(caseworker)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    response = client.get(reverse("casework:detail", args=[dispute.reference]))
    html = response.content.decode()
    assert _shows(html, "ko")
    assert "인도네시아어(으)로 작성됨" in html  # "Written in Indonesian", in Korean
    assert f'<blockquote lang="id" class="original">{account}</blockquote>' in html
    # Times are in the node agency's zone (BPKN: Jakarta), written the Korean way.
    with translation.override("ko"):
        filed = date_format(
            localtime(dispute.filed_at, ZoneInfo("Asia/Jakarta")), "DATETIME_FORMAT"
        )
    assert filed.startswith(f"{dispute.filed_at.year}년 ") and (
        " 오전 " in filed or " 오후 " in filed
    )
    assert filed in html
