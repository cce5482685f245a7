# Korean puts 오전/오후 before the time (2026년 11월 25일 오후 2:05) and writes short dates the
# standard way, 2026. 12. 2. (Django's default is 2026-12-2).
from django.conf.locale.ko.formats import *  # noqa: F403

DATETIME_FORMAT = "Y년 n월 j일 A g:i"
SHORT_DATE_FORMAT = "Y. n. j."
SHORT_DATETIME_FORMAT = "Y. n. j. H:i"
