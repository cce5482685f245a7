"""The queue's filters, sorts, keyset pages and saved views."""

from __future__ import annotations

import datetime as dt
import html
import re

from django.urls import reverse
from django.utils import timezone

from casework.models import SavedView
from disputes.models import Dispute
from tests.factories import CaseworkerFactory, file_dispute
from tests.staff import login


def references(response) -> list[str]:
    return re.findall(r'href="/casework/disputes/([A-Z0-9-]+)/"', response.content.decode())


def test_deadline_windows_overdue_and_due_soon(caseworker_client, seeded):
    from agencies.selectors import agency_calendar
    from disputes.services import agency_today

    bpkn = seeded["ID-BPKN"]
    today = agency_today(bpkn)
    calendar = agency_calendar(bpkn, today)
    late, soon, later = file_dispute(), file_dispute(), file_dispute()
    Dispute.objects.filter(pk=late.pk).update(review_due_on=today - dt.timedelta(days=10))
    Dispute.objects.filter(pk=soon.pk).update(review_due_on=calendar.add_working_days(today, 2))
    Dispute.objects.filter(pk=later.pk).update(review_due_on=calendar.add_working_days(today, 9))
    queue = reverse("casework:queue")
    assert references(caseworker_client.get(queue, {"due": "overdue"})) == [late.reference]
    assert references(caseworker_client.get(queue, {"due": "2"})) == [soon.reference]
    assert references(caseworker_client.get(queue, {"due": "10"})) == [
        soon.reference,
        later.reference,
    ]


def test_partner_category_and_search_by_web_domain(caseworker_client, seeded):
    from agencies.models import Category

    shoes = file_dispute(category="clothing", merchant_website="https://busan-shoes.example.kr")
    file_dispute(category="electronics")
    queue = reverse("casework:queue")
    clothing = Category.objects.get(code="clothing")
    assert references(caseworker_client.get(queue, {"category": clothing.pk})) == [shoes.reference]
    assert references(caseworker_client.get(queue, {"q": "busan-shoes"})) == [shoes.reference]
    kca = seeded["KR-KCA"]
    assert references(caseworker_client.get(queue, {"partner": kca.pk})) == []


def test_newest_first_through_keyset_pages(caseworker_client, seeded):
    start = timezone.now() - dt.timedelta(days=3)
    filed = [file_dispute(now=start + dt.timedelta(hours=number)) for number in range(30)]
    queue = reverse("casework:queue")
    first = caseworker_client.get(queue, {"sort": "newest"})
    link = re.search(r'href="([^"]*after=[^"]*)" rel="next"', first.content.decode()).group(1)
    second = caseworker_client.get(queue + html.unescape(link))
    newest_first = [dispute.reference for dispute in reversed(filed)]
    assert references(first) + references(second) == newest_first


def test_saved_views_are_each_persons_own(client, seeded):
    siti, budi = CaseworkerFactory(), CaseworkerFactory()
    login(client, siti)
    response = client.post(
        reverse("casework:save_view"), {"name": "Overdue", "query": "due=overdue"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?due=overdue")
    view = SavedView.objects.get(user=siti)
    page = client.get(reverse("casework:queue")).content.decode()
    assert 'href="/casework/?due=overdue">Overdue</a>' in page
    login(client, budi)
    assert "Overdue</a>" not in client.get(reverse("casework:queue")).content.decode()
    client.post(reverse("casework:delete_view", args=[view.pk]))
    assert SavedView.objects.filter(pk=view.pk).exists()  # not Budi's to delete
    login(client, siti)
    client.post(reverse("casework:delete_view", args=[view.pk]))
    assert not SavedView.objects.filter(pk=view.pk).exists()
