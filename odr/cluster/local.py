"""A cluster of nodes on this machine: data directories, ports, databases, keys, start and
teardown."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from odr import embedded

from .node import Node
from .processes import AGENCY_CODES, free_port, stop_processes


class LocalCluster:
    """Several nodes on loopback, prepared, keyed and partnered, ready to relay packets.

    ``postgres_url`` (a server URL, normally its ``postgres`` database) makes each node get a
    fresh PostgreSQL database, dropped on teardown; without it each node uses a SQLite file in
    its data dir. ``redis_url`` makes the nodes share that Redis with a unique key prefix per
    node and run; without it each node starts its own embedded Redis.
    """

    def __init__(
        self,
        base_dir: Path | str,
        codes: Iterable[str] = AGENCY_CODES,
        *,
        postgres_url: str | None = None,
        redis_url: str | None = None,
        env_name: str = "test",
        extra_env: dict[str, str] | None = None,
        fresh: bool = True,
        relay: bool = True,
        ports: dict[str, int] | None = None,
        collect_static: bool = False,
    ):
        self.base_dir = Path(base_dir)
        self.codes = list(codes)
        self.postgres_url = postgres_url
        self.redis_url = redis_url
        self.env_name = env_name
        self.extra_env = dict(extra_env or {})
        self.fresh = fresh
        # Without the relay (keys, jwks endpoint) the harness still starts migrated, seeded nodes.
        self.relay = relay
        # Preferred ports (the demo's stable URLs); a busy one is replaced by a free one.
        self.ports = dict(ports or {})
        # Static files for pages a browser test looks at (gunicorn serves them through WhiteNoise).
        self.collect_static = collect_static
        self.run_id = secrets.token_hex(4)
        self.nodes: dict[str, Node] = {}
        self._databases: list[str] = []

    def __getitem__(self, code: str) -> Node:
        return self.nodes[code]

    def __enter__(self) -> LocalCluster:
        try:
            self.prepare()
            self.start()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.teardown()

    # --- preparation -----------------------------------------------------------------------

    def _database_for(self, code: str, data_dir: Path) -> str:
        if not self.postgres_url:
            return f"sqlite:///{data_dir / 'db.sqlite3'}"
        import psycopg

        name = f"odr_{code.lower().replace('-', '_')}_{self.run_id}"
        with psycopg.connect(self.postgres_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self._databases.append(name)
        parts = urlsplit(self.postgres_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    def _drop_databases(self) -> None:
        if not (self.postgres_url and self._databases):
            return
        import psycopg

        with psycopg.connect(self.postgres_url, autocommit=True) as connection:
            for name in self._databases:
                with contextlib.suppress(psycopg.Error):
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._databases.clear()

    def _port_for(self, code: str) -> int:
        wanted = self.ports.get(code)
        if wanted:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                # As gunicorn does, so a port left in TIME_WAIT by the last run counts as free.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", wanted))
                except OSError:
                    return free_port()
            return wanted
        return free_port()

    def add_nodes(self) -> None:
        for code in self.codes:
            data_dir = self.base_dir / code.lower()
            if self.fresh and data_dir.exists():
                embedded.stop(data_dir)
                shutil.rmtree(data_dir)
            data_dir.mkdir(parents=True, exist_ok=True)
            if self.redis_url:
                broker, prefix, own = self.redis_url, f"odr:{self.run_id}:{code.lower()}:", False
            else:
                broker, prefix, own = embedded.broker_url(data_dir), f"odr:{code.lower()}:", True
            self.nodes[code] = Node(
                code=code,
                data_dir=data_dir,
                port=self._port_for(code),
                database_url=self._database_for(code, data_dir),
                broker_url=broker,
                key_prefix=prefix,
                env_name=self.env_name,
                extra_env=dict(self.extra_env),
                embedded_broker=own,
                health_path="/.well-known/jwks.json" if self.relay else "/admin/login/",
            )

    def _in_parallel(self, work: Callable[[Node], None]) -> None:
        errors: list[BaseException] = []

        def run(node: Node):
            try:
                work(node)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=run, args=(node,)) for node in self.nodes.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def prepare(self) -> None:
        """Data dirs, ports, databases, migrations, seed data, keys, and pinned partner keys."""
        if not self.nodes:
            self.add_nodes()
        inboxes = [f"--inbox={node.code}={node.inbox_url}" for node in self.nodes.values()]

        def setup(node: Node):
            node.start_broker()
            node.manage("migrate", "--no-input", "-v", "0")
            node.manage("seed_agencies", *inboxes)
            if self.collect_static:
                node.manage("collectstatic", "--no-input", "-v", "0")
            if self.relay:
                node.manage("node_keys", "init")

        self._in_parallel(setup)
        if self.relay:
            self.exchange_keys()

    def exchange_keys(self) -> None:
        exported = {code: node.manage("node_keys", "export") for code, node in self.nodes.items()}
        for code, jwks in exported.items():
            path = self.base_dir / f"{code.lower()}.jwks.json"
            path.write_text(jwks)

        def pin(node: Node):
            for code in exported:
                if code != node.code:
                    node.manage(
                        "pin_partner_keys",
                        code,
                        "--file",
                        str(self.base_dir / f"{code.lower()}.jwks.json"),
                    )

        self._in_parallel(pin)

    # --- running ---------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> None:
        for node in self.nodes.values():
            node.start_broker()
            node.start_web()
            node.start_worker()
            node.start_beat()
        for node in self.nodes.values():
            node.wait_web(timeout)
            node.wait_worker(timeout)
            node.wait_beat(timeout)

    def teardown(self) -> None:
        """Stop every process of every node, the embedded brokers, and drop the databases."""
        commands = [node._commands for node in self.nodes.values() if node._commands is not None]
        for command in commands:
            with contextlib.suppress(OSError, ValueError):
                command.popen.stdin.close()  # each exits at the end of its input
        stop_processes(p for node in self.nodes.values() for p in node.processes.values())
        for node in self.nodes.values():
            if node._commands is not None:
                node._commands.close()
                node._commands = None
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.stop_broker()
        if self.redis_url:
            self._forget_shared_redis_keys()
        self._drop_databases()

    def _forget_shared_redis_keys(self) -> None:
        """Delete only this run's keys from a shared Redis (never FLUSHALL a shared server)."""
        import redis

        with contextlib.suppress(redis.RedisError):
            client = redis.Redis.from_url(self.redis_url)
            for node in self.nodes.values():
                for key in client.scan_iter(match=f"{node.key_prefix}*", count=500):
                    client.delete(key)
            # Celery's fanout (pidbox) keys are prefixed too; nothing else of ours is left.
