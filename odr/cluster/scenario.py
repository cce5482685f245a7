"""Helpers shared by the demo, the multi-node tests and the benchmark: a sample dispute, filing
and forwarding it, and waiting until its packets are delivered or it reaches a status."""

from __future__ import annotations

import json

from .node import Node
from .processes import ClusterError, wait_for

SAMPLE_DISPUTE = {
    "consumer_name": "Dewi Lestari",
    "consumer_email": "dewi@example.id",
    "consumer_phone": "+62 812 0000 1111",
    "consumer_country": "ID",
    "consumer_language": "id",
    "merchant_name": "Seoul Gadget Store",
    "merchant_website": "https://seoulgadget.example.kr",
    "merchant_country": "KR",
    "purchase_date": "2026-10-01",
    "order_number": "SGS-2026-88812",
    "amount": "1250000",
    "currency": "IDR",
    "payment_method": "card",
    "platform": "Seoul Gadget web shop",
    "category": "electronics",
    "problem_types": ["non_delivery"],
    "desired_remedy": "refund",
    "consumer_account": (
        "Saya membayar headphone nirkabel Rp1.250.000 pada 1 Oktober 2026, tetapi barang tidak "
        "pernah dikirim dan penjual tidak menjawab email saya."
    ),
    "filing_language": "id",
    "intake_channel": "web",
}


def file_and_forward(home: Node, caseworker: str, **overrides) -> str:
    """File the sample dispute at ``home``, review it and forward it; return its reference."""
    reference = home.dispute("file", input=json.dumps({**SAMPLE_DISPUTE, **overrides}))
    home.dispute("act", reference, "start_review", "--as", caseworker)
    home.dispute("act", reference, "forward", "--as", caseworker)
    return reference


def outbound(log: list[dict]) -> list[dict]:
    """Packets this node sent; ``agency`` is the recipient."""
    return [row for row in log if row.get("direction") == "out"]


def inbound(log: list[dict]) -> list[dict]:
    """Packets this node received; ``agency`` is the sender."""
    return [row for row in log if row.get("direction") == "in"]


def delivery_problems(sender: Node, receiver: Node, reference: str | None = None) -> list[str]:
    """Why the packets from sender to receiver are not (yet) each applied exactly once.

    Empty when every outbound packet of the sender to the receiver's agency is acknowledged, the
    receiver has each of them applied, and neither side has a packet twice.
    """
    sent = [
        row
        for row in outbound(sender.relay_log())
        if row.get("agency") == receiver.code
        and (reference is None or row.get("dispute") == reference)
    ]
    received = [
        row
        for row in inbound(receiver.relay_log())
        if row.get("agency") == sender.code
        and (reference is None or row.get("dispute") == reference)
    ]
    problems = []
    sent_pids = [row["pid"] for row in sent]
    # Refusals before a packet could be placed (e.g. out of order) are not arrivals: the sender
    # tries again. Only placed packets count.
    received = [row for row in received if "authenticated" not in row]
    received_pids = [row["pid"] for row in received]
    if len(set(sent_pids)) != len(sent_pids):
        problems.append(f"{sender.code} has duplicate outbound pids")
    if len(set(received_pids)) != len(received_pids):
        problems.append(f"{receiver.code} has duplicate inbound pids")
    for row in sent:
        if row.get("state") != "acknowledged":
            problems.append(f"{row['pid']} {row.get('type')} is {row.get('state')} at sender")
    applied = {row["pid"] for row in received if row.get("state") == "applied"}
    for pid in sent_pids:
        if pid not in applied:
            problems.append(f"{pid} not applied at {receiver.code}")
    for pid in set(received_pids) - set(sent_pids):
        problems.append(f"{pid} arrived at {receiver.code} but was never sent")
    seqs = [row.get("seq") for row in received if row.get("seq") is not None]
    if len(set(seqs)) != len(seqs) and reference is not None:
        problems.append(f"{receiver.code} applied a sequence number twice")
    return problems


def wait_delivered(sender: Node, receiver: Node, reference: str | None = None, timeout=90.0):
    """Wait until every packet from sender to receiver is applied exactly once."""
    last: list[str] = []

    def done():
        nonlocal last
        last = delivery_problems(sender, receiver, reference)
        return not last

    try:
        wait_for(done, timeout=timeout, interval=0.5, what="delivery")
    except ClusterError as error:
        raise ClusterError(f"{error}: {'; '.join(last[:10])}") from None


def wait_status(node: Node, reference: str, status: str, timeout: float = 90.0) -> dict:
    """Wait until the node has the dispute in ``status``; return what it shows."""
    return wait_for(
        lambda: (shown := node.show(reference)) and shown["status"] == status and shown,
        timeout=timeout,
        interval=0.5,
        what=f"{reference} to be {status} at {node.code}",
    )
