"""Every page carries the same security headers, a Content-Security-Policy among them, and needs
no inline script or style (which the policy would block). The pages are found, not listed: the
crawl starts at every URL without parameters and a case's own pages, and follows every link, as
a consumer, a caseworker and an administrator, so a page added later is checked too."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.tokens import tracking_path
from tests.factories import CaseworkerFactory, file_dispute

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
FILE_POLICY = "default-src 'none'; sandbox"
SECURITY_HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# What the policy blocks: an inline <script> (a JSON data block is not run, so it may stay), a
# <style> element, a style attribute, an event handler attribute, a javascript: URL.
INLINE = {
    "inline script": re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I
    ),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "event handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I),
}
HREF = re.compile(r"""\b(?:href|action)\s*=\s*["']([^"']+)["']""", re.I)
MAX_PAGES = 400


def directives(policy: str) -> dict[str, str]:
    return {
        part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()
    }


def header_problems(response) -> list[str]:
    problems = [
        f"{name}: {response.get(name)!r}"
        for name, value in SECURITY_HEADERS.items()
        if name != "Content-Security-Policy" and response.get(name) != value
    ]
    # A download may have a stricter policy of its own (an evidence file: nothing runs in it,
    # even if opened); every page has the site's.
    allowed = [POLICY, FILE_POLICY]
    if not response.get("Content-Disposition", "").startswith("attachment"):
        allowed = [POLICY]
    found = directives(response.get("Content-Security-Policy", ""))
    if found not in [directives(policy) for policy in allowed]:
        problems.append(f"Content-Security-Policy: {response.get('Content-Security-Policy')!r}")
    policy = response.get("Content-Security-Policy", "")
    problems += [
        f"policy allows {word}" for word in ("unsafe-inline", "unsafe-eval") if word in policy
    ]
    return problems


def inline_problems(html: str) -> list[str]:
    problems = []
    for what, pattern in INLINE.items():
        for match in pattern.finditer(html):
            problems.append(f"{what}: {html[match.start() : match.start() + 120]!r}")
    return problems


def paths_without_parameters(resolver=None, prefix: str = "") -> list[str]:
    """Every URL of the project that takes no parameter, e.g. /find/, /casework/, /admin/."""
    resolver = resolver or get_resolver()
    paths = []
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if "<" in route or "(?P" in route or "\\" in route.replace("\\Z", ""):
            continue
        route = route.lstrip("^").removesuffix("\\Z").removesuffix("$")
        if isinstance(entry, URLResolver):
            paths += paths_without_parameters(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            paths.append("/" + prefix + route)
    return paths


def crawl(browser: Client, starts: list[str], *, skip=()) -> dict[str, list[str]]:
    """GET every page reachable from ``starts`` on this node; {path: what is wrong with it}."""
    seen: set[str] = set()
    queue = deque(starts)
    found: dict[str, list[str]] = {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen or any(part in path for part in skip):
            continue
        seen.add(path)
        response = browser.get(path)
        if response.status_code in (301, 302, 303, 307, 308):
            location = urlsplit(response["Location"])
            if not location.netloc or location.netloc == "testserver":
                queue.append(location.path + (f"?{location.query}" if location.query else ""))
        problems = header_problems(response)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html") and not getattr(response, "streaming", False):
            html = response.content.decode()
            problems += inline_problems(html)
            for link in HREF.findall(html):
                link = urldefrag(link.replace("&amp;", "&")).url
                parts = urlsplit(link)
                if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                    continue
                if parts.path.startswith("/static/"):
                    continue
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        found[path] = problems
    return found


@pytest.fixture
def a_case(seeded, caseworker):
    from disputes import services

    dispute = file_dispute(consumer_email="dewi@example.id")
    services.add_document(
        dispute,
        actor=services.Actor.consumer(dispute.consumer_name),
        name="receipt.txt",
        content=b"Paid 1,250,000 IDR for headphones.\n",
        language="id",
    )
    services.start_review(dispute, actor=services.Actor.caseworker(caseworker))
    return dispute


def test_every_page_a_consumer_a_caseworker_or_an_administrator_reaches_has_the_policy(
    a_case, caseworker
):
    anonymous = Client()
    staff = Client()
    staff.force_login(caseworker)
    admin = Client()
    admin.force_login(
        User.objects.create_superuser("root", "root@agency.example", "a-long-password-123")
    )
    everywhere = paths_without_parameters()
    tracking = tracking_path(a_case)
    case_pages = [tracking, reverse("casework:detail", args=[a_case.reference])]
    # Logging out, and changing the language, are not pages to follow; "?_changelist_filters"
    # and the admin's sort orders repeat pages already seen.
    skip = ("logout", "setlang", "_changelist_filters", "?o=", "&o=")

    pages: dict[str, list[str]] = {}
    for browser in (anonymous, staff, admin):
        pages.update(crawl(browser, everywhere + case_pages, skip=skip))

    problems = {path: found for path, found in pages.items() if found}
    assert problems == {}
    # The crawl reached the pages of all three kinds of visitor, not just a login page.
    for expected in (
        "/",
        "/find/",
        tracking,
        reverse("casework:queue"),
        reverse("casework:detail", args=[a_case.reference]),
        "/admin/",
        "/admin/disputes/dispute/",
        "/api/docs/",
    ):
        assert expected in pages, expected
    assert len(pages) > 40


def test_error_pages_carry_the_same_security_headers(seeded, caseworker, settings):
    settings.DEBUG = False
    browser = Client(raise_request_exception=False)
    not_found = browser.get("/no-such-page/")
    assert not_found.status_code == 404
    assert header_problems(not_found) == []
    assert inline_problems(not_found.content.decode()) == []

    forbidden = Client()
    forbidden.force_login(User.objects.create_user("visitor", password="a-long-password-123"))
    refused = forbidden.get(reverse("casework:queue"))
    assert refused.status_code == 403
    assert header_problems(refused) == []
    assert inline_problems(refused.content.decode()) == []

    csrf = Client(enforce_csrf_checks=True).post(reverse("portal:find"), {"email": "a@b.example"})
    assert csrf.status_code == 403
    assert header_problems(csrf) == []

    api_not_found = browser.get("/api/v1/no-such-thing/")
    assert api_not_found.status_code == 404
    assert header_problems(api_not_found) == []


def test_a_server_error_page_carries_the_same_security_headers(seeded, settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.odr.failing_urls"
    browser = Client(raise_request_exception=False)

    page = browser.get("/fails/")

    assert page.status_code == 500
    assert "text/html" in page["Content-Type"]
    assert header_problems(page) == []
    assert inline_problems(page.content.decode()) == []
    api = browser.get("/api/fails/")
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "internal_error"
    assert header_problems(api) == []


@pytest.fixture
def committed_case(transactional_db, seeded):
    """A caseworker and a case committed for the live server's thread to see."""
    caseworker = CaseworkerFactory()
    dispute = file_dispute()
    return caseworker, dispute


@pytest.mark.browser
def test_a_browser_blocks_nothing_on_the_pages_under_the_policy(
    committed_case, live_server, page, screenshot
):
    caseworker, dispute = committed_case
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    pages = ("/", "/file/", "/find/", "/statistics/", tracking_path(dispute), "/api/docs/")
    for path in (*pages, "/admin/login/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/casework/")
    page.get_by_label("Username").fill(caseworker.username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/casework/")
    page.goto(f"{live_server.url}{reverse('casework:detail', args=[dispute.reference])}")
    page.wait_for_load_state("networkidle")
    screenshot(page, "casework-detail")
    # The time zone script, now a file of its own, still ran.
    assert any(cookie["name"] == "odr_timezone" for cookie in page.context.cookies())
    page.goto(f"{live_server.url}/api/docs/")
    page.get_by_text("/api/v1/disputes/", exact=True).first.wait_for()
    screenshot(page, "swagger")
    assert violations == []
