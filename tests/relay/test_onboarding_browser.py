"""An agency admin onboards a partner in the admin, in a real Chromium: two-factor sign-in,
import the partner's card, compare the thumbprints and confirm, enter the MoU, run the
connectivity check and activate it with a reason."""

from __future__ import annotations

import json

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import roles
from agencies.models import Agency, MoU
from relay.delivery import deliver
from relay.models import OutboundPacket
from tests.accounts.conftest import PASSWORD, code_for, make_staff
from tests.relay.onboarding import card_for
from tests.relay.partner import Partner, PartnerServer, our_key

pytestmark = pytest.mark.browser
REFERENCE = "MOU-BPKN-NCCC-2026"


@pytest.fixture
def admin_user(transactional_db, seeded, settings, tmp_path):
    from relay.partners import init_node_keys

    settings.ODR_KEYS_DIR = tmp_path / "keys"
    init_node_keys()
    user = make_staff("admin-bpkn", roles.AGENCY_ADMIN, first_name="Adi")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


@pytest.fixture
def nccc_keys():
    """NCCC's own keys, as its node holds them; the test plays NCCC's inbox with them."""
    from joserfc.jwk import OKPKey

    partner = Partner.__new__(Partner)
    partner.code = "MY-NCCC"
    partner.sig = OKPKey.generate_key("Ed25519", parameters={"kid": "MY-NCCC-sig-1"}, private=True)
    partner.enc = OKPKey.generate_key("X25519", parameters={"kid": "MY-NCCC-enc-1"}, private=True)
    partner.next_seq = {}
    return partner


def choose_action(page, label: str) -> None:
    page.locator("select[name=action]").select_option(label=label)
    with page.expect_navigation():
        page.get_by_role("button", name="Run").or_(page.get_by_role("button", name="Go")).click()


def confirm(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()


def test_an_admin_onboards_a_partner_in_the_admin(
    page, live_server, admin_user, nccc_keys, tmp_path, screenshot
):
    # Two-factor sign-in.
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("admin-bpkn")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/two-factor/**")
    page.get_by_label("Six-digit code").fill(code_for(TOTPDevice.objects.get(user=admin_user)))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{live_server.url}/admin/")

    with PartnerServer(nccc_keys, our_key("sig").public_jwk) as inbox:
        card = tmp_path / "nccc.json"
        card.write_text(json.dumps(card_for("MY-NCCC", nccc_keys.sig, nccc_keys.enc, inbox.url)))

        # Import the card: prospective, thumbprints shown.
        page.goto(f"{live_server.url}/admin/agencies/agency/")
        page.get_by_role("link", name="Import a partner card").click()
        page.get_by_label("Partner card").set_input_files(str(card))
        screenshot(page, "import")
        page.get_by_role("button", name="Import").click()
        page.wait_for_url("**/admin/agencies/agency/*/change/")
        assert "stored as prospective" in page.content()
        prints = page.locator(".key-thumbprints").inner_text()
        for key in json.loads(card.read_text())["keys"]:
            assert key["kid"] in prints
        screenshot(page, "thumbprints")

        # Thumbprints compared by phone: confirm.
        page.goto(f"{live_server.url}/admin/agencies/agency/?q=NCCC")
        page.locator("input[name=_selected_action]").first.check()
        choose_action(page, "Confirm the selected partners (key thumbprints compared)")
        assert "MY-NCCC confirmed." in page.content()
        assert Agency.objects.get(code="MY-NCCC").status == Agency.Status.ACTIVE

        # Enter the MoU.
        page.goto(f"{live_server.url}/admin/agencies/mou/add/")
        page.get_by_label("Reference").fill(REFERENCE)
        page.get_by_label("Title").fill("BPKN–NCCC cooperation")
        page.get_by_label("First party").select_option(label="BPKN (ID-BPKN)")
        page.get_by_label("Second party").select_option(label="NCCC (MY-NCCC)")
        page.locator("#id_signed_on").fill("2026-12-01")
        page.locator("#id_effective_from").fill("2026-12-01")
        page.locator("#id_partner_stages").fill('["merchant_contact"]')
        page.locator("#id_languages").fill('["en", "ms"]')
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_url("**/admin/agencies/mou/")
        mou = MoU.objects.get(reference=REFERENCE)
        assert mou.status == MoU.Status.DRAFT

        # Activation before the connectivity check is refused, with the reason why.
        page.locator(f"input[name=_selected_action][value='{mou.pk}']").check()
        choose_action(page, "Activate the selected MoUs")
        page.get_by_label("Reason").fill("Signed in Kuala Lumpur")
        confirm(page)
        assert "Run the connectivity check first" in page.content()

        # The connectivity check: a signed ping, answered by NCCC's inbox.
        page.locator(f"input[name=_selected_action][value='{mou.pk}']").check()
        choose_action(page, "Connectivity check: send a signed ping to the partner")
        assert "ping" in page.locator(".messagelist").inner_text()
        ping = OutboundPacket.objects.get(type="partner.ping", mou_reference=REFERENCE)
        assert deliver(ping.pk) == "acknowledged"  # what the node's worker does on commit
        page.goto(f"{live_server.url}/admin/agencies/mou/{mou.pk}/change/")
        assert "pinged" in page.content()
        screenshot(page, "pinged")

        # Activate, with a reason.
        page.goto(f"{live_server.url}/admin/agencies/mou/")
        page.locator(f"input[name=_selected_action][value='{mou.pk}']").check()
        choose_action(page, "Activate the selected MoUs")
        screenshot(page, "reason")
        page.get_by_label("Reason").fill("Signed in Kuala Lumpur on 1 December 2026")
        confirm(page)
        assert f"{REFERENCE}: Done." in page.content()
    mou.refresh_from_db()
    assert mou.status == MoU.Status.ACTIVE
    assert mou.status_changes.order_by("-changed_at").first().changed_by == admin_user
