# English here is British English: dates read 25 Nov 2026 and 25/11/2026, never 11/25/2026.
from django.conf.locale.en_GB.formats import *  # noqa: F403

# A 24-hour clock reads the same to every partner agency: 25 Nov 2026, 14:05.
DATETIME_FORMAT = "j M Y, H:i"
