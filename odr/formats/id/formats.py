# Indonesian: full month names (25 November 2026); Django's abbreviations come out as "Nov.",
# which Indonesian style does not use.
from django.conf.locale.id.formats import *  # noqa: F403

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H.i"
