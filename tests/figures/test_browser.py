"""Both statistics pages in a real Chromium, in English, Indonesian and Korean: the charts are
drawn by the vendored Chart.js from static files, and they show what the tables say."""

from __future__ import annotations

import pytest
from django.test import override_settings

from figures import services
from tests.factories import SupervisorFactory
from tests.staff import browser_sign_in

PASSWORD = "correct horse battery staple"
QUARTER = "first_month=2026-01&last_month=2026-03"
LANGUAGES = [
    ("en", "Statistics", "Disputes by month", "Cross-border disputes in figures"),
    ("id", "Statistik", "Sengketa per bulan", "Sengketa lintas batas dalam angka"),
    ("ko", "통계", "월별 분쟁", "숫자로 보는 국경 간 분쟁"),
]


@pytest.fixture
def figures_ready(live_history):
    services.refresh_figures()


def choose_language(page, code: str):
    page.locator("#language-select").select_option(code)
    with page.expect_navigation():
        page.locator(".language-switcher button").click()


def drawn_charts(page) -> list[dict]:
    """What each Chart.js instance holds, and whether its canvas has any painted pixel."""
    page.wait_for_function("window.odrCharts && window.odrCharts.length > 0")
    return page.evaluate(
        """() => window.odrCharts.map((chart) => {
            const canvas = chart.canvas;
            const pixels = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
            return {
                name: canvas.dataset.chart,
                labels: chart.data.labels,
                data: chart.data.datasets.map((d) => d.data),
                painted: painted,
                width: canvas.width,
            };
        })"""
    )


def test_the_staff_page_draws_its_charts_in_three_languages(
    page, live_server, figures_ready, screenshot
):
    browser_sign_in(page, live_server, SupervisorFactory(), PASSWORD)
    page.locator(".casework-nav").get_by_role("link", name="Statistics").click()
    page.wait_for_url(f"{live_server.url}/casework/statistics/")
    page.goto(f"{live_server.url}/casework/statistics/?{QUARTER}")
    for code, title, by_month, _public in LANGUAGES:
        if code != "en":
            choose_language(page, code)
        assert page.locator("h1").inner_text() == title
        assert page.get_by_role("heading", name=by_month).is_visible()
        charts = {chart["name"]: chart for chart in drawn_charts(page)}
        assert set(charts) == {"by_month", "by_partner", "by_outcome", "by_category"}
        month = charts["by_month"]
        assert month["labels"] == ["2026-01", "2026-02", "2026-03"]
        # The first series is "filed here", the same numbers as the table's second column.
        table = page.locator("#by-month ~ .table-scroll tbody tr td:nth-child(2)")
        assert [int(cell) for cell in table.all_inner_texts()] == month["data"][0] == [1, 2, 1]
        assert sorted(charts["by_outcome"]["data"][0]) == [1, 1, 2]
        for chart in charts.values():
            assert chart["width"] > 100 and chart["painted"] > 1000, chart["name"]
        screenshot(page, f"staff-{code}")


@override_settings(ODR_STATISTICS_MIN_COUNT=2)
def test_the_public_page_draws_what_it_may_publish_in_three_languages(
    page, live_server, figures_ready, screenshot
):
    page.goto(f"{live_server.url}/statistics/?year=2026")
    for code, _title, _by_month, heading in LANGUAGES:
        if code != "en":
            choose_language(page, code)
        assert page.locator("h1").inner_text() == heading
        (outcomes,) = drawn_charts(page)
        # Only settled (2) reaches the threshold of 2; the others are withheld, not drawn.
        assert outcomes["data"] == [[2]]
        assert outcomes["painted"] > 1000
        assert page.locator(".suppressed").count() >= 3
        screenshot(page, f"public-{code}")
