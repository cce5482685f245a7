"""The dispute's code lists: problem types and remedies. Safe to run again.

Run by ``agencies.seed.seed_reference_data`` through ``DisputesConfig.seed_reference_data``.
"""

from __future__ import annotations

from agencies.seed import translated

from .models import ProblemType, Remedy

PROBLEM_TYPES = [
    ("non_delivery", ("Not delivered", "Barang tidak dikirim", "미배송")),
    ("defective", ("Defective or damaged", "Rusak atau cacat", "불량·파손")),
    ("not_as_described", ("Not as described", "Tidak sesuai deskripsi", "설명과 다름")),
    ("refund_refused", ("Refund refused", "Pengembalian dana ditolak", "환불 거부")),
    ("unauthorised_charge", ("Unauthorised charge", "Tagihan tanpa izin", "무단 결제")),
    ("counterfeit", ("Counterfeit", "Barang palsu", "위조품")),
    ("cancellation", ("Cancellation refused", "Pembatalan ditolak", "취소 거부")),
    ("other", ("Something else", "Masalah lain", "기타")),
]

REMEDIES = [
    ("refund", ("Refund", "Pengembalian dana", "환불")),
    ("replacement", ("Replacement", "Penggantian barang", "교환")),
    ("repair", ("Repair", "Perbaikan", "수리")),
    ("delivery", ("Delivery of the order", "Pengiriman pesanan", "주문품 배송")),
    ("apology", ("An apology", "Permintaan maaf", "사과")),
    ("other", ("Something else", "Lainnya", "기타")),
]


def seed_code_lists() -> None:
    for position, (code, names) in enumerate(PROBLEM_TYPES):
        ProblemType.objects.update_or_create(
            code=code, defaults={**translated(names), "position": position}
        )
    for position, (code, names) in enumerate(REMEDIES):
        Remedy.objects.update_or_create(
            code=code, defaults={**translated(names), "position": position}
        )
