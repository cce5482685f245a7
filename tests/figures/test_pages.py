"""The staff page, its exports and MoU report, and the public page and JSON, over HTTP."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import override_settings

from figures import services
from odr.l10n import format_money
from tests.factories import SupervisorFactory
from tests.pdf import first_page_png, pdf_text
from tests.staff import login

QUARTER = {"first_month": "2026-01", "last_month": "2026-03"}


@pytest.fixture
def staff_client(client, history):
    services.refresh_figures()
    login(client, SupervisorFactory())
    return client


def test_anonymous_people_are_sent_to_sign_in(client, db):
    response = client.get("/casework/statistics/")
    assert response.status_code == 302
    assert response["Location"].startswith("/casework/login/")
    assert client.get("/casework/statistics/figures.csv").status_code == 302


def test_a_caseworker_who_is_not_staff_may_not_see_them(client, seeded):
    user = User.objects.create_user("clerk", password="x" * 20)
    user.groups.add(Group.objects.get(name="Caseworkers"))
    login(client, user)
    assert client.get("/casework/statistics/").status_code == 403
    assert client.get("/casework/statistics/figures.json").status_code == 403
    assert client.get("/casework/statistics/mou/MOU-BPKN-KCA-2021/2026-02.pdf").status_code == 403


def test_the_staff_page_shows_the_figures_as_tables_and_chart_data(staff_client):
    response = staff_client.get("/casework/statistics/", {**QUARTER, "partner": "KR-KCA"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="figure-charts"' in page
    assert '<canvas data-chart="by_month"' in page
    assert "<script>" not in page.split("</main>")[0]  # charts come from static files
    assert "/static/vendor/chartjs-4.6.2/chart.umd.min.js" in page
    found = re.search(r'<script id="figure-charts" type="application/json">(.*?)</script>', page)
    charts = json.loads(found.group(1))
    assert charts["by_month"]["labels"] == ["2026-01", "2026-02", "2026-03"]
    assert charts["by_month"]["datasets"][0]["data"] == [1, 1, 1]  # filed here, with KCA
    assert format_money(Decimal("1000000"), "IDR", "en") in page


def test_bad_filters_are_answered_with_errors(staff_client):
    response = staff_client.get(
        "/casework/statistics/", {"first_month": "2026-05", "last_month": "2026-01"}
    )
    assert response.status_code == 400
    assert "The first month must not be after the last." in response.content.decode()
    response = staff_client.get("/casework/statistics/figures.json", {"first_month": "May"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filters"


def test_csv_and_json_exports_carry_the_same_figures(staff_client):
    data = staff_client.get("/casework/statistics/figures.json", QUARTER).json()
    assert data["time_to_resolution"] == {"count": 3, "median": 12, "p90": 19}
    assert data["recovered"][1] == {"currency": "KRW", "disputes": 1, "amount": "350000.00"}
    response = staff_client.get("/casework/statistics/figures.csv", QUARTER)
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="statistics-2026-01-2026-03.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["by_month", "2026-02", "received", "1"] in rows
    assert ["time_to_resolution", "", "p90", "19"] in rows
    assert ["recovered", "KRW", "amount", "350000.00"] in rows
    assert ["by_outcome", "withdrawn", "count", "1"] in rows


def test_the_monthly_mou_report_is_a_pdf_that_renders(staff_client):
    response = staff_client.get(
        "/casework/statistics/mou/MOU-BPKN-KCA-2021/2026-02.pdf", HTTP_ACCEPT_LANGUAGE="ko"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert "MOU-BPKN-KCA-2021" in text
    assert "해결" in text  # Korean text laid out, not boxes
    assert "1,000,000" in text or "1.000.000" in text
    # A picture of the first page, to look at: test-artifacts/screenshots/mou-report-ko-1.png
    assert first_page_png(response.content, "mou-report-ko").stat().st_size > 10_000
    assert staff_client.get("/casework/statistics/mou/MOU-BPKN-KCA-2021/May.pdf").status_code == 404
    assert staff_client.get("/casework/statistics/mou/NO-SUCH/2026-02.pdf").status_code == 404


def _public(client):
    return client.get("/statistics/figures.json", {"year": "2026"}).json()


def test_the_public_json_withholds_small_counts(client, history):
    services.refresh_figures()
    figures = _public(client)
    assert figures["minimum_count"] == 5
    assert figures["cases"] == 5  # four filed here and one received: at the threshold
    outcomes = {row["code"]: row["count"] for row in figures["by_outcome"]}
    assert outcomes == dict.fromkeys(
        ["out_of_scope", "settled", "not_settled", "referred_to_adjudication", "withdrawn"]
    )
    assert figures["recovered"] == [
        {"currency": "IDR", "disputes": None, "amount": None},
        {"currency": "KRW", "disputes": None, "amount": None},
    ]
    assert figures["median_working_days_to_resolution"] is None
    text = json.dumps(figures)
    assert "Dewi" not in text and "Seoul Gadget" not in text and "@" not in text


def test_with_a_lower_threshold_the_same_figures_are_published(client, history):
    services.refresh_figures()
    with override_settings(ODR_STATISTICS_MIN_COUNT=1):
        figures = _public(client)
    outcomes = {row["code"]: row["count"] for row in figures["by_outcome"]}
    assert outcomes["settled"] == 2
    assert figures["median_working_days_to_resolution"] == 12
    assert figures["recovered"][0] == {"currency": "IDR", "disputes": 1, "amount": "1000000.00"}


@pytest.mark.parametrize(
    ("language", "heading", "withheld"),
    [
        ("en", "Cross-border disputes in figures", "fewer than 5"),
        ("id", "Sengketa lintas batas dalam angka", "kurang dari 5"),
        ("ko", "숫자로 보는 국경 간 분쟁", "5건 미만"),
    ],
)
def test_the_public_page_speaks_three_languages(client, history, language, heading, withheld):
    services.refresh_figures()
    page = client.get(
        "/statistics/", {"year": "2026"}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert heading in page
    assert withheld in page


def test_a_bad_year_is_refused_with_a_code(client, db):
    response = client.get("/statistics/figures.json", {"year": "20x6"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_year"
    assert client.get("/statistics/", {"year": "1900"}).status_code == 400
