"""Reference data and the three founding agencies with their MoUs. Safe to run again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import holidays as holiday_calendars
from django.apps import apps
from django.db import transaction
from modeltranslation.utils import build_localized_fieldname

from .models import Agency, Category, Country, DomesticBody, ExchangeRate, MoU, PublicHoliday
from .roles import ensure_roles
from .services import change_mou_status, create_mou

COUNTRIES = [
    # code, names (en, id, ko), currency, languages, time zone, holiday calendar options
    ("ID", ("Indonesia", "Indonesia", "인도네시아"), "IDR", ["id"], "Asia/Jakarta", {}),
    ("KR", ("Republic of Korea", "Korea Selatan", "대한민국"), "KRW", ["ko"], "Asia/Seoul", {}),
    (
        "GB",
        ("United Kingdom", "Inggris Raya", "영국"),
        "GBP",
        ["en"],
        "Europe/London",
        {"subdiv": "ENG"},
    ),
]

AGENCIES = [
    {
        "code": "ID-BPKN",
        "reference_prefix": "BPKN",
        "short_name": "BPKN",
        "names": (
            "National Consumer Protection Agency of Indonesia",
            "Badan Perlindungan Konsumen Nasional",
            "인도네시아 국가소비자보호원",
        ),
        "country": "ID",
        "languages": ["id", "en"],
        "contact_email": "pengaduan@bpkn.go.id",
        "website": "https://bpkn.go.id",
        "status": Agency.Status.ACTIVE,
    },
    {
        "code": "KR-KCA",
        "reference_prefix": "KCA",
        "short_name": "KCA",
        "names": ("Korea Consumer Agency", "Badan Konsumen Korea", "한국소비자원"),
        "country": "KR",
        "languages": ["ko", "en"],
        "contact_email": "crossborder@kca.go.kr",
        "website": "https://www.kca.go.kr",
        "status": Agency.Status.ACTIVE,
    },
    {
        "code": "GB-UKICC",
        "reference_prefix": "UKICC",
        "short_name": "UK ICC",
        "names": (
            "UK International Consumer Centre",
            "Pusat Konsumen Internasional Inggris",
            "영국 국제소비자센터",
        ),
        "country": "GB",
        "languages": ["en"],
        "contact_email": "advice@ukecc.net",
        "website": "https://www.ukecc.net",
        "status": Agency.Status.PROSPECTIVE,
    },
]

CATEGORIES = [
    ("electronics", ("Electronics and appliances", "Elektronik dan peralatan", "전자제품·가전")),
    (
        "clothing",
        ("Clothing, shoes and accessories", "Pakaian, sepatu dan aksesori", "의류·신발·잡화"),
    ),
    (
        "cosmetics",
        ("Cosmetics and personal care", "Kosmetik dan perawatan diri", "화장품·개인위생"),
    ),
    ("food", ("Food and drink", "Makanan dan minuman", "식품·음료")),
    (
        "household",
        ("Household goods and furniture", "Perlengkapan rumah dan mebel", "생활용품·가구"),
    ),
    (
        "travel",
        (
            "Travel, flights and accommodation",
            "Perjalanan, tiket pesawat dan penginapan",
            "여행·항공·숙박",
        ),
    ),
    (
        "digital",
        (
            "Digital content and software",
            "Konten digital dan perangkat lunak",
            "디지털 콘텐츠·소프트웨어",
        ),
    ),
    ("services", ("Other services", "Jasa lainnya", "기타 서비스")),
    ("other_goods", ("Other goods", "Barang lainnya", "기타 상품")),
]

DOMESTIC_BODIES = [
    # code, country, kind, adjudicates, website, names (en, id, ko)
    (
        "id-bpsk-jakarta",
        "ID",
        DomesticBody.Kind.DISPUTE_BODY,
        True,
        "",
        (
            "Consumer Dispute Settlement Body (BPSK) of DKI Jakarta",
            "Badan Penyelesaian Sengketa Konsumen (BPSK) DKI Jakarta",
            "자카르타 소비자분쟁해결기구(BPSK)",
        ),
    ),
    (
        "id-kemendag-pktn",
        "ID",
        DomesticBody.Kind.CONSUMER_AGENCY,
        False,
        "https://simpktn.kemendag.go.id",
        (
            "Ministry of Trade consumer complaints (SIMPKTN)",
            "Pengaduan konsumen Kementerian Perdagangan (SIMPKTN)",
            "인도네시아 무역부 소비자 민원(SIMPKTN)",
        ),
    ),
    (
        "id-ojk",
        "ID",
        DomesticBody.Kind.REGULATOR,
        False,
        "https://www.ojk.go.id",
        (
            "Financial Services Authority (OJK)",
            "Otoritas Jasa Keuangan (OJK)",
            "인도네시아 금융감독청(OJK)",
        ),
    ),
    (
        # Where an agency's enforcement referral asks for an illegal shop's site to be blocked.
        "id-komdigi",
        "ID",
        DomesticBody.Kind.REGULATOR,
        False,
        "https://www.komdigi.go.id",
        (
            "Ministry of Communication and Digital Affairs (Komdigi)",
            "Kementerian Komunikasi dan Digital (Komdigi)",
            "인도네시아 통신디지털부(Komdigi)",
        ),
    ),
    (
        "kr-ftc",
        "KR",
        DomesticBody.Kind.REGULATOR,
        False,
        "https://www.ftc.go.kr",
        (
            "Korea Fair Trade Commission",
            "Komisi Persaingan Usaha Korea (KFTC)",
            "공정거래위원회",
        ),
    ),
    (
        "gb-cma",
        "GB",
        DomesticBody.Kind.REGULATOR,
        False,
        "https://www.gov.uk/government/organisations/competition-and-markets-authority",
        (
            "Competition and Markets Authority",
            "Competition and Markets Authority (otoritas persaingan usaha Inggris)",
            "영국 경쟁시장청(CMA)",
        ),
    ),
    (
        "kr-cdsc",
        "KR",
        DomesticBody.Kind.DISPUTE_BODY,
        True,
        "https://www.kca.go.kr",
        (
            "Consumer Dispute Settlement Commission",
            "Komisi Penyelesaian Sengketa Konsumen Korea",
            "소비자분쟁조정위원회",
        ),
    ),
    (
        "kr-small-claims",
        "KR",
        DomesticBody.Kind.SMALL_CLAIMS,
        True,
        "",
        (
            "Small claims procedure of the Korean district courts",
            "Prosedur gugatan sederhana pengadilan distrik Korea",
            "소액사건심판",
        ),
    ),
    (
        "gb-small-claims",
        "GB",
        DomesticBody.Kind.SMALL_CLAIMS,
        True,
        "https://www.gov.uk/make-court-claim-for-money",
        (
            "County Court small claims track",
            "Jalur gugatan kecil County Court",
            "영국 카운티 법원 소액청구",
        ),
    ),
    (
        "gb-citizens-advice",
        "GB",
        DomesticBody.Kind.CONSUMER_AGENCY,
        False,
        "https://www.citizensadvice.org.uk",
        (
            "Citizens Advice consumer service",
            "Layanan konsumen Citizens Advice",
            "시민상담소 소비자 서비스",
        ),
    ),
]

# Reference rates for checking a claim against an MoU's maximum; administrators keep them current.
EXCHANGE_RATES = [("IDR", "16250"), ("KRW", "1390"), ("GBP", "0.79")]


def _localised(field: str, language: str) -> str:
    # modeltranslation names Indonesian fields name_ind, so that name_id never clashes.
    return build_localized_fieldname(field, language)


def translated(names: tuple[str, str, str]) -> dict[str, str]:
    en, id_, ko = names
    return {
        "name": en,
        _localised("name", "en"): en,
        _localised("name", "id"): id_,
        _localised("name", "ko"): ko,
    }


def seed_holidays(country: Country, years: range, options: dict) -> int:
    created = 0
    localised = {}
    for language in ("en_US", "id", "ko"):
        try:
            localised[language] = holiday_calendars.country_holidays(
                country.code, years=years, language=language, **options
            )
        except (NotImplementedError, KeyError):
            continue
    base = localised.get("en_US") or holiday_calendars.country_holidays(
        country.code, years=years, **options
    )
    for day, name in sorted(base.items()):
        names = {
            _localised("name", "en"): name,
            _localised("name", "id"): localised.get("id", {}).get(day) or None,
            _localised("name", "ko"): localised.get("ko", {}).get(day) or None,
        }
        _holiday, was_created = PublicHoliday.objects.update_or_create(
            country=country, date=day, defaults={"name": name, **names}
        )
        created += was_created
    return created


@transaction.atomic
def seed_reference_data(
    inbox_urls: dict[str, str] | None = None,
    today: dt.date | None = None,
    *,
    with_agencies: bool = True,
):
    """Countries, holidays, categories, domestic bodies, rates and code lists; with_agencies,
    also BPKN, KCA and UK ICC and their MoUs (a new agency's node seeds without them and
    onboards its partners from their cards)."""
    today = today or dt.date.today()
    inbox_urls = inbox_urls or {}
    years = range(today.year - 1, today.year + 3)
    for code, names, currency, languages, tz, options in COUNTRIES:
        country, _ = Country.objects.update_or_create(
            code=code,
            defaults={
                **translated(names),
                "currency": currency,
                "official_languages": languages,
                "timezone": tz,
                "working_week": [1, 2, 3, 4, 5],
            },
        )
        seed_holidays(country, years, options)
    for code, names in CATEGORIES:
        Category.objects.update_or_create(code=code, defaults=translated(names))
    for code, country, kind, adjudicates, website, names in DOMESTIC_BODIES:
        DomesticBody.objects.update_or_create(
            code=code,
            defaults={
                **translated(names),
                "country_id": country,
                "kind": kind,
                "handles_adjudication": adjudicates,
                "website": website,
            },
        )
    for currency, rate in EXCHANGE_RATES:
        ExchangeRate.objects.get_or_create(
            currency=currency, as_of=today, defaults={"per_usd": Decimal(rate)}
        )
    agencies = {}
    if not with_agencies:
        _seed_groups_and_code_lists()
        return agencies
    for spec in AGENCIES:
        defaults = {
            **translated(spec["names"]),
            "reference_prefix": spec["reference_prefix"],
            "short_name": spec["short_name"],
            "country_id": spec["country"],
            "languages": spec["languages"],
            "contact_email": spec["contact_email"],
            "website": spec["website"],
        }
        agency, _created = Agency.objects.get_or_create(
            code=spec["code"], defaults={**defaults, "status": spec["status"]}
        )
        if spec["code"] in inbox_urls:
            agency.inbox_url = inbox_urls[spec["code"]]
            agency.save(update_fields=["inbox_url"])
        agencies[spec["code"]] = agency
    bpkn, kca, ukicc = agencies["ID-BPKN"], agencies["KR-KCA"], agencies["GB-UKICC"]
    all_stages = [
        MoU.Stage.MERCHANT_CONTACT,
        MoU.Stage.NEGOTIATION,
        MoU.Stage.MEDIATION,
    ]
    if not MoU.objects.filter(reference="MOU-BPKN-KCA-2021").exists():
        mou = create_mou(
            first=bpkn,
            second=kca,
            reference="MOU-BPKN-KCA-2021",
            title="BPKN–KCA cooperation on cross-border consumer dispute resolution",
            # The MoU was signed virtually in August 2021; the sources give the month only.
            signed_on=dt.date(2021, 8, 1),
            effective_from=dt.date(2021, 8, 1),
            max_claim_amount=Decimal("5000.00"),
            max_claim_currency="USD",
            partner_stages=all_stages,
            languages=["en", "id", "ko"],
            acknowledge_days=5,
            merchant_contact_days=10,
            resolution_days=60,
        )
        change_mou_status(mou, MoU.Status.ACTIVE, note="Signed virtually, August 2021.")
    if not MoU.objects.filter(reference="MOU-BPKN-UKICC-DRAFT").exists():
        create_mou(
            first=bpkn,
            second=ukicc,
            reference="MOU-BPKN-UKICC-DRAFT",
            title="BPKN–UK ICC cooperation on cross-border disputes (under negotiation)",
            partner_stages=all_stages,
            languages=["en"],
        )
    _seed_groups_and_code_lists()
    return agencies


def _seed_groups_and_code_lists() -> None:
    ensure_roles()
    # Apps above this one seed their own code lists (disputes: problem types and remedies).
    for config in apps.get_app_configs():
        seed_app = getattr(config, "seed_reference_data", None)
        if seed_app is not None:
            seed_app()
