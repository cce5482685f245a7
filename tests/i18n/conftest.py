import pytest

from odr import i18n


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """The .mo files are build output (not in git): test what the .po files say now."""
    i18n.compile_all()
