"""Shared fixtures. In CI (CI=true) PostgreSQL and Redis must be there: a missing service fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from odr import embedded


def pytest_configure(config):
    settings.ODR_DATA_DIR.mkdir(parents=True, exist_ok=True)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise expects it
    if os.environ.get("CI") == "true":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError("CI=true: DATABASE_URL must point at PostgreSQL, not " + engine)
        if not settings.CELERY_BROKER_URL.startswith("redis://"):
            raise pytest.UsageError("CI=true: CELERY_BROKER_URL must point at the Redis service")


@pytest.fixture(scope="session", autouse=True)
def broker():
    """The Celery broker and cache: the CI Redis, or an embedded one started for this run."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(embedded.SOCKET_SCHEME):
        embedded.start(settings.ODR_DATA_DIR)
    embedded.redis_client(url).ping()  # fails the run, never skips, when the broker is missing
    yield url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL server for what only PostgreSQL has (sessions, prepared statements), whatever
    the default database: the CI one, or the local server every machine here runs."""
    return os.environ.get("ODR_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the test database once; tests run in transactions that roll back to this state."""
    from agencies.seed import seed_reference_data

    with django_db_blocker.unblock():
        seed_reference_data()


@pytest.fixture
def mail_marks(django_db_setup):
    """No consumer email sender marked queued or running (the marks live in the shared Redis and
    outlive a test that published a wake-up to a broker nobody reads)."""
    from odr.marks import clear_mark
    from portal.tasks import _mail_key

    def clear():
        for kind in ("queued", "sending"):
            clear_mark(_mail_key(kind))

    clear()
    yield
    clear()


@pytest.fixture
def seeded(db):
    """Countries, holidays, BPKN, KCA, UK ICC and their MoUs, as `make demo` seeds them."""
    from agencies.models import Agency
    from agencies.seed import seed_reference_data

    if not Agency.objects.filter(code="ID-BPKN").exists():
        seed_reference_data()
    return {agency.code: agency for agency in Agency.objects.all()}


@pytest.fixture
def caseworker(db, seeded):
    from tests.factories import CaseworkerFactory

    return CaseworkerFactory()


# --- browser tests ------------------------------------------------------------------------------
# Playwright drives Debian's Chromium (installed by `make browser`); its own download is not used.
CHROMIUM = os.environ.get("ODR_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"
# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from fixtures
# in that same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise pytest.UsageError(f"Chromium not found at {CHROMIUM}: run `make browser`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    """A fresh browser profile (cookies, storage) per test; phone-sized unless a test resizes."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    yield page


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot under test-artifacts/screenshots/<test name>-<label>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, label: str):
        name = f"{request.node.name}-{label}.png".replace("/", "_").replace("[", "-").strip("]")
        path = SCREENSHOTS / name
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
