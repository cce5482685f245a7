"""``python -m odr.cluster commands``: the loop of a CommandProcess (used by LocalCluster)."""

import sys

from .processes import serve_commands

if sys.argv[1:] == ["commands"]:
    serve_commands()
else:
    sys.exit("usage: python -m odr.cluster commands  (used by LocalCluster)")
