"""The filters of the staff statistics: period (months), partner agency and category."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, Category

from .selectors import Filters, default_filters

MAX_MONTHS = 36


class MonthField(forms.DateField):
    """A month as YYYY-MM (the browser's month input), cleaned to its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m"]
    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if day else day


class FiguresFilterForm(forms.Form):
    first_month = MonthField(label=_("From"), required=False)
    last_month = MonthField(label=_("To"), required=False)
    partner = forms.ModelChoiceField(
        label=_("Partner agency"),
        queryset=Agency.objects.exclude(code=settings.ODR_NODE),
        to_field_name="code",
        required=False,
        empty_label=_("All partners"),
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        to_field_name="code",
        required=False,
        empty_label=_("All categories"),
    )

    def clean(self):
        data = super().clean()
        default = default_filters()
        first = data.get("first_month") or default.first_month
        last = data.get("last_month") or default.last_month
        if first > last:
            raise forms.ValidationError(_("The first month must not be after the last."))
        if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
            raise forms.ValidationError(
                _("Choose at most %(months)d months.") % {"months": MAX_MONTHS}
            )
        data["first_month"], data["last_month"] = first, last
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            data["first_month"], data["last_month"], data.get("partner"), data.get("category")
        )


def month_of(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        return None
