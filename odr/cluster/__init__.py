"""Local clusters of real nodes: one agency per node, each in its own processes and data dir.

The multi-node tests, the fault tests, the demo and the relay benchmark all need the same thing:
several nodes of this project running side by side on one machine exactly as they would run in
production (gunicorn, a Celery worker, Celery beat, each node with its own database and broker),
talking to each other over HTTP on loopback. This module prepares and starts them, checks they
are healthy with deadlines, lets a caller stop, kill and restart single processes, runs
``manage.py`` commands in a node's environment, and tears everything down.

Every process is started in its own session, so stopping one means signalling its whole process
group: a Celery worker's pool children and gunicorn's workers never outlive their parent.
"""

from .local import LocalCluster
from .node import Node
from .processes import (
    AGENCY_CODES,
    BASE_DIR,
    ClusterError,
    CommandProcess,
    Process,
    free_port,
    stop_processes,
    wait_for,
)
from .scenario import (
    SAMPLE_DISPUTE,
    delivery_problems,
    file_and_forward,
    inbound,
    outbound,
    wait_delivered,
    wait_status,
)

__all__ = [
    "AGENCY_CODES",
    "BASE_DIR",
    "SAMPLE_DISPUTE",
    "ClusterError",
    "CommandProcess",
    "LocalCluster",
    "Node",
    "Process",
    "delivery_problems",
    "file_and_forward",
    "free_port",
    "inbound",
    "outbound",
    "stop_processes",
    "wait_delivered",
    "wait_for",
    "wait_status",
]
