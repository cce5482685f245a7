"""Monthly rollups of the node's disputes and the working-day calendar they are counted on.

The rows are derived data: ``services.refresh_figures`` rebuilds them from the disputes and
their timeline (nightly, and on demand), so pages over a million disputes read a few thousand
rows. Nothing here is the only copy of anything.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, Category, Country


class WorkingDay(models.Model):
    """One calendar day of a country with the number of its working days up to and including it.

    Working days between two dates are the difference of their ``ordinal`` (the first day not
    counted, the last counted, as ``agencies.calendar.WorkingCalendar.working_days_between``).
    """

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    ordinal = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["country", "date"], name="working_day_once_per_date")
        ]

    def __str__(self) -> str:
        return f"{self.country_id} {self.date} #{self.ordinal}"


class Measure(models.TextChoices):
    FILED = "filed", _("Filed here")
    FORWARDED = "forwarded", _("Forwarded to a partner")
    RECEIVED = "received", _("Received from a partner")
    OUTCOME = "outcome", _("Outcome")
    RESOLVED = "resolved", _("Resolved")
    FIRST_ANSWER = "first_answer", _("First merchant answer")
    CONTACTED = "contacted", _("Merchant contacted")
    RECOVERED = "recovered", _("Money recovered")
    PROBLEM = "problem", _("Problem type")


class MonthlyFigure(models.Model):
    """A count (and for money a sum) of disputes for one month and one combination of keys.

    ``partner`` is the other agency of the case as seen from this node; ``key`` is the outcome,
    currency, problem type or "answered"/"in_time" flag the measure is about; ``days`` the
    working days a duration took, so percentiles come exactly from the histogram.
    """

    month = models.DateField()
    measure = models.CharField(max_length=20, choices=Measure.choices)
    partner = models.ForeignKey(
        Agency, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=20, blank=True)
    key = models.CharField(max_length=50, blank=True)
    days = models.IntegerField(null=True, blank=True)
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=24, decimal_places=2, null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["measure", "month"])]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.measure} {self.key} {self.count}"


class FiguresRefresh(models.Model):
    """When the rollups were last rebuilt: the "figures as of" of every page."""

    finished_at = models.DateTimeField(default=timezone.now)
    disputes = models.PositiveIntegerField()
    seconds = models.FloatField()

    class Meta:
        ordering = ["-finished_at"]
        permissions = [("view_statistics", _("Can view the statistics of the node"))]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M} ({self.disputes})"
