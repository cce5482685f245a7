"""Backup and restore of a node (deploy/backup.sh, deploy/restore.sh, docs/operations.md).

BPKN is backed up while it runs, with a packet to KCA still undelivered. Afterwards that packet
arrives and KCA accepts the first case, which BPKN applies. Then BPKN loses its database, files
and keys, and is restored from the backup: it has everything the backup had (cases, evidence,
keys, outbox), sends the undelivered packet again, which KCA already had and does not apply twice,
and KCA sends again what BPKN acknowledged since the backup (``relay_resend``), so the
acceptance BPKN lost comes back. At the end both nodes agree, and every packet was applied once.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from odr.cluster import (
    BASE_DIR,
    SAMPLE_DISPUTE,
    LocalCluster,
    wait_delivered,
    wait_for,
    wait_status,
)
from tests.relay.partner import PDF
from tests.relay.test_multinode import cluster_options, status_changes

pytestmark = pytest.mark.multinode


def run_script(node, name: str, *args: str) -> str:
    done = subprocess.run(
        ["sh", str(BASE_DIR / "deploy" / name), *args],
        env=node.env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def file_hashes(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def recreate_empty_database(postgres_url: str, database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def packets(node, direction: str, reference: str) -> list[dict]:
    return [
        row
        for row in node.relay_log()
        if row["direction"] == direction and row["dispute"] == reference
    ]


def test_a_restored_node_loses_nothing_and_nothing_is_applied_twice(tmp_path_factory, postgres_url):
    base = tmp_path_factory.mktemp("restore")
    with LocalCluster(
        base,
        ("ID-BPKN", "KR-KCA"),
        extra_env={"ODR_RELAY_BACKOFF_BASE_SECONDS": "1", "ODR_RELAY_BACKOFF_MAX_SECONDS": "2"},
        **cluster_options() | {"postgres_url": postgres_url},
    ) as cluster:
        bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
        bpkn.dispute("caseworker", "budi", "--password", "a-long-test-password-1")
        kca.dispute("caseworker", "minji", "--password", "a-long-test-password-1")

        # Case A, with a receipt as evidence, reaches KCA before the backup.
        first = bpkn.dispute("file", input=json.dumps(SAMPLE_DISPUTE))
        receipt = base / "struk.pdf"
        receipt.write_bytes(PDF)
        bpkn.dispute("document", first, "--as", "budi", "--file", str(receipt))
        bpkn.dispute("act", first, "start_review", "--as", "budi")
        bpkn.dispute("act", first, "forward", "--as", "budi")
        wait_delivered(bpkn, kca, first)

        # Case B is forwarded while KCA is down: its packet waits in BPKN's outbox.
        kca.stop("web")
        second = bpkn.dispute(
            "file", input=json.dumps({**SAMPLE_DISPUTE, "order_number": "SGS-2026-99901"})
        )
        bpkn.dispute("act", second, "start_review", "--as", "budi")
        bpkn.dispute("act", second, "forward", "--as", "budi")
        wait_for(
            lambda: packets(bpkn, "out", second)[0]["attempts"] >= 1,
            timeout=60,
            what="a first failed attempt to KCA",
        )

        backup = Path(run_script(bpkn, "backup.sh", str(base / "backups")).strip().splitlines()[-1])
        manifest = dict(
            line.split("=", 1) for line in (backup / "MANIFEST").read_text().splitlines()
        )
        at_backup = {
            "first": bpkn.show(first),
            "second": bpkn.show(second),
            "files": file_hashes(bpkn.data_dir / "private"),
            "jwks": bpkn.manage("node_keys", "export"),
        }
        assert hashlib.sha256(PDF).hexdigest() in at_backup["files"].values()  # the evidence
        assert [row["state"] for row in packets(bpkn, "out", second)] != ["acknowledged"]

        # After the backup: B arrives, and KCA accepts A, which BPKN applies.
        kca.start_web()
        kca.wait_web()
        wait_delivered(bpkn, kca, second)
        kca.dispute("act", first, "accept_forwarded", "--as", "minji")
        wait_status(bpkn, first, "accepted_by_partner")

        # BPKN loses everything: database, evidence, keys.
        bpkn.stop_all()
        recreate_empty_database(postgres_url, bpkn.database_url)
        for lost in ("private", "keys"):
            subprocess.run(["rm", "-rf", str(bpkn.data_dir / lost)], check=True)

        out = run_script(bpkn, "restore.sh", str(backup))
        assert f"backup taken at {manifest['started']}" in out
        bpkn.start()

        # Everything the backup had is back.
        assert file_hashes(bpkn.data_dir / "private") == at_backup["files"]
        assert bpkn.manage("node_keys", "export") == at_backup["jwks"]
        assert bpkn.show(first)["status"] == "forwarded"  # the acceptance came after the backup
        assert bpkn.show(second)["timeline"] == at_backup["second"]["timeline"]

        # BPKN sends B again; KCA already has it and answers with its first receipt.
        wait_delivered(bpkn, kca, second)
        # KCA sends again what BPKN acknowledged since the backup: the acceptance of A.
        resent = kca.manage("relay_resend", "ID-BPKN", "--since", manifest["started"])
        assert "packets queued again for ID-BPKN" in resent
        wait_status(bpkn, first, "accepted_by_partner")
        wait_delivered(kca, bpkn, first)
        wait_delivered(kca, bpkn, second)

        for reference in (first, second):
            at_bpkn, at_kca = bpkn.show(reference), kca.show(reference)
            assert status_changes(at_bpkn) == status_changes(at_kca)
            assert at_bpkn["status"] == at_kca["status"]
            # Each packet applied once on its receiving side: one inbox row per packet sent.
            sent_by_bpkn = [row["pid"] for row in packets(bpkn, "out", reference)]
            got_by_kca = [row["pid"] for row in packets(kca, "in", reference)]
            assert sorted(sent_by_bpkn) == sorted(got_by_kca)
            sent_by_kca = [row["pid"] for row in packets(kca, "out", reference)]
            got_by_bpkn = [row["pid"] for row in packets(bpkn, "in", reference)]
            assert sorted(sent_by_kca) == sorted(got_by_bpkn)
        forwarded_twice = [
            change
            for change in status_changes(kca.show(second))
            if change == ("under_review", "forwarded")
        ]
        assert len(forwarded_twice) == 1
        changes = status_changes(bpkn.show(first))
        accepted = [change for change in changes if change[1] == "accepted_by_partner"]
        assert len(accepted) == 1
        # The evidence travelled once and is the same file on both sides.
        pdf = hashlib.sha256(PDF).hexdigest()
        assert list(file_hashes(kca.data_dir / "private").values()).count(pdf) == 1
        assert list(file_hashes(bpkn.data_dir / "private").values()).count(pdf) == 1


def test_backup_refuses_to_run_without_the_nodes_settings(tmp_path):
    done = subprocess.run(
        ["sh", str(BASE_DIR / "deploy" / "backup.sh"), str(tmp_path)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "DATABASE_URL is required" in done.stderr
    assert not list(tmp_path.iterdir())
