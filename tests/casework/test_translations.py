"""A caseworker's translation is shown beside the original, marked as a translation and by whom."""

from __future__ import annotations

from django.urls import reverse

from disputes import services
from tests.factories import file_dispute


def test_a_translation_is_shown_beside_the_original(caseworker_client, caseworker, seeded):
    dispute = file_dispute()
    message = services.post_message(
        dispute,
        actor=services.Actor.consumer("Dewi Lestari"),
        body="Barangnya belum sampai.",
        language="id",
    )
    url = reverse("casework:translate_message", args=[dispute.reference, message.pk])
    prefix = f"m{message.pk}"
    response = caseworker_client.post(
        url, {f"{prefix}-language": "en", f"{prefix}-body": "The goods have not arrived."}
    )
    assert response.status_code == 302
    page = caseworker_client.get(reverse("casework:detail", args=[dispute.reference]))
    html = page.content.decode()
    article = html[html.index(f'id="message-{message.pk}"') :]
    original = article.index("Barangnya belum sampai.")
    translated = article.index("The goods have not arrived.")
    assert original < translated
    assert f"Translation into English by {caseworker.get_full_name()}" in article
    assert 'lang="id">Barangnya belum sampai.' in article
    message.refresh_from_db()
    assert message.body == "Barangnya belum sampai."


def test_a_translation_into_the_same_language_is_refused(caseworker_client, seeded):
    dispute = file_dispute()
    message = services.post_message(
        dispute, actor=services.Actor.consumer("Dewi"), body="Halo", language="id"
    )
    url = reverse("casework:translate_message", args=[dispute.reference, message.pk])
    prefix = f"m{message.pk}"
    response = caseworker_client.post(url, {f"{prefix}-language": "id", f"{prefix}-body": "Halo"})
    assert response.status_code == 400
    assert "must be in another language" in response.content.decode()
    assert not message.translations.exists()
