"""The OpenAPI schema tells the truth: schemathesis generates requests from it (valid ones, and
ones the schema forbids) against a live node, with a real API key and real disputes of that key's
client, and checks every answer against the schema: no server error, only documented statuses,
error codes, headers and bodies, valid data accepted, invalid data refused, the documented
authentication required and enough. schemathesis runs from its own virtualenv
(tools/schemathesis.lock, installed by `make schemathesis`): it pins a jsonschema-rs older than
the node's."""

from __future__ import annotations

import os
import subprocess

import pytest
from django.conf import settings

from api import services
from api.models import ApiFiling
from tests.factories import CaseworkerFactory, file_dispute

SCHEMATHESIS = settings.BASE_DIR / ".venv-schemathesis" / "bin" / "schemathesis"
CONFIG = settings.BASE_DIR / "tests" / "api" / "schemathesis.toml"
# A fixed seed: a failure is reproduced by running again; change it to explore further.
SEED = "20261206"


@pytest.fixture
def node_with_disputes(transactional_db, seeded):
    """A client with its key and two disputes it filed (one with evidence, one under review);
    a dispute filed on the web, which the client may not see."""
    from disputes import services as disputes

    client, key = services.create_client(
        "Schemathesis portal", ["disputes:create", "disputes:read", "evidence:create"]
    )
    mine = [file_dispute(intake_channel="api"), file_dispute(intake_channel="api")]
    for dispute in mine:
        ApiFiling.objects.create(client=client, dispute=dispute)
    disputes.add_document(
        mine[0],
        actor=disputes.Actor.consumer(mine[0].consumer_name),
        name="receipt.txt",
        content=b"Paid 1,250,000 IDR.\n",
    )
    disputes.start_review(mine[1], actor=disputes.Actor.caseworker(CaseworkerFactory()))
    file_dispute()  # on the web
    return key, [dispute.reference for dispute in mine]


def test_schemathesis_finds_no_answer_that_the_schema_does_not_describe(
    node_with_disputes, live_server, tmp_path
):
    if not SCHEMATHESIS.exists():
        raise pytest.UsageError(f"{SCHEMATHESIS} is missing: run `make schemathesis`")
    key, references = node_with_disputes
    environment = {
        **os.environ,
        "ODR_SCHEMATHESIS_KEY": key,
        "ODR_SCHEMATHESIS_REFERENCE_1": references[0],
        "ODR_SCHEMATHESIS_REFERENCE_2": references[1],
    }
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{live_server.url}/api/schema/",
            "--seed",
            SEED,
            "--max-examples",
            "25",
            # Hypothesis's own warnings about generating data (a path parameter most requests
            # take from the dictionary of real references, a slow shared machine) say nothing
            # about the API; every check still runs on every example generated.
            "--suppress-health-check",
            "filter_too_much,too_slow",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert "Tested: 5" in output, output[-4000:]
    # The operations on a dispute reached real disputes, not only 404s.
    assert "Missing test data" not in output, output[-4000:]
