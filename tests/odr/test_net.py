"""The client address that per-address limits count, with and without reverse proxies."""

from __future__ import annotations

from django.test import RequestFactory

from odr.net import client_address


def request(**meta):
    return RequestFactory().get("/", **meta)


def test_without_proxies_the_peer_is_the_client_whatever_the_headers_say(settings):
    settings.ODR_TRUSTED_PROXIES = 0
    spoofed = request(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_address(spoofed) == "203.0.113.7"


def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_wrote(settings):
    settings.ODR_TRUSTED_PROXIES = 1
    # The client wrote "198.51.100.1"; nginx appended the address it really saw.
    behind = request(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    assert client_address(behind) == "203.0.113.7"


def test_behind_two_proxies_the_outer_ones_view_counts(settings):
    settings.ODR_TRUSTED_PROXIES = 2
    behind = request(
        REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7, 10.0.0.2"
    )
    assert client_address(behind) == "203.0.113.7"


def test_a_proxy_that_sent_no_header_counts_as_its_own_address(settings):
    settings.ODR_TRUSTED_PROXIES = 1
    assert client_address(request(REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
