#!/bin/sh
# The processes of a node, as the image, the compose file and the systemd units run them:
#   entrypoint.sh release   migrate, collect static files, check the deploy settings (once per release)
#   entrypoint.sh web       gunicorn (deploy/gunicorn.conf.py)
#   entrypoint.sh worker    a Celery worker on this node's queue (any number of them)
#   entrypoint.sh beat      Celery beat (one per node; a second one waits, see odr/beatlock.py)
#   entrypoint.sh manage …  any manage.py command (doctor, node_keys, createsuperuser, …)
set -eu
cd "$(dirname "$0")/.."
PYTHON="${ODR_PYTHON:-python}"
queue="odr.$(printf '%s' "${ODR_NODE:?ODR_NODE is required}" | tr '[:upper:]' '[:lower:]')"

case "${1:-web}" in
  release)
    "$PYTHON" manage.py migrate --no-input
    "$PYTHON" manage.py collectstatic --no-input -v 0
    # Fails on errors; prints warnings (security.W021 until the agency opts into HSTS preload).
    exec "$PYTHON" manage.py check --deploy
    ;;
  web)
    exec "$PYTHON" -m gunicorn -c deploy/gunicorn.conf.py odr.wsgi
    ;;
  worker)
    exec "$PYTHON" -m celery -A odr worker -Q "$queue" \
      --concurrency "${ODR_WORKER_CONCURRENCY:-4}" --without-gossip --without-mingle \
      --loglevel INFO
    ;;
  beat)
    exec "$PYTHON" -m celery -A odr beat --loglevel INFO \
      --schedule "${ODR_DATA_DIR:?ODR_DATA_DIR is required}/celerybeat-schedule" \
      --pidfile "${ODR_DATA_DIR}/celerybeat.pid"
    ;;
  manage)
    shift
    exec "$PYTHON" manage.py "$@"
    ;;
  *)
    echo "usage: entrypoint.sh release|web|worker|beat|manage …" >&2
    exit 2
    ;;
esac
