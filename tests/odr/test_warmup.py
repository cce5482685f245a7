"""A web or worker process loads what its first requests would need while it starts, so the
first packets and pages after a deploy or restart are not slowed by imports."""

import os
import subprocess
import sys

from django.conf import settings

CHECK = """
import sys
import odr.wsgi  # what gunicorn loads in each worker
from relay import packets
print(int("drf_spectacular.views" in sys.modules), int("relay.views" in sys.modules),
      packets.schema_validator.cache_info().currsize)
"""


def test_loading_the_web_application_loads_the_views_and_compiles_the_packet_schemas(tmp_path):
    environment = {**os.environ, "ODR_DATA_DIR": str(tmp_path), "ODR_ENV": "test"}
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    views_loaded, inbox_loaded, schemas = result.stdout.split()
    assert (views_loaded, inbox_loaded) == ("1", "1")
    assert int(schemas) == 9  # the seven packet types, the envelope and the receipt
