"""gunicorn settings of a node's web process (`gunicorn -c deploy/gunicorn.conf.py odr.wsgi`).

Sizes come from the environment; the defaults suit a 2-4 core machine. No access log: the
application logs each request once as JSON, by route, without the path (a tracking link's path is
its capability token; odr/middleware.py).
"""

import os
import shutil
from pathlib import Path

bind = os.environ.get("ODR_WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("ODR_WEB_WORKERS", "4"))
worker_class = "gthread"
threads = int(os.environ.get("ODR_WEB_THREADS", "4"))
timeout = int(os.environ.get("ODR_WEB_TIMEOUT", "60"))
graceful_timeout = 20
# Requests that pass a reverse proxy: the proxy's X-Forwarded-* headers are trusted from these.
forwarded_allow_ips = os.environ.get("ODR_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = None
errorlog = "-"
loglevel = os.environ.get("ODR_LOG_LEVEL", "info").lower()
# A worker is replaced after this many requests (with jitter), so a slow leak cannot grow forever.
max_requests = 5000
max_requests_jitter = 500


def on_starting(server):
    # prometheus-client's multiprocess mode: each process writes its counters to files in this
    # directory, and /metrics adds them up. Files of a previous run would count twice.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        if path.exists():
            for child in path.iterdir():
                if child.is_file():
                    child.unlink()
                else:
                    shutil.rmtree(child)
        path.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
