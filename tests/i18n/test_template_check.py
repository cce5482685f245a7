"""The checker that fails CI on template text a person would see untranslated."""

from __future__ import annotations

from odr import i18n


def _texts(source, path="page.html"):
    return [item.text for item in i18n.unmarked_in_template(source, path)]


def test_marked_text_variables_and_markup_pass():
    source = """{% extends "base.html" %}{% load i18n %}
    {% block body_class %}portal{% endblock %}
    {% block head %}<link rel="stylesheet" href="{% static 'portal/x.css' %}">{% endblock %}
    {% block content %}
    <h1>{% translate "Your dispute" %}</h1>
    <p>{% blocktranslate with ref=dispute.reference %}Reference {{ ref }}{% endblocktranslate %}</p>
    <input type="submit" value="{% translate 'Send' %}" placeholder="{{ hint }}">
    <p>{{ dispute.reference }} · 3/4 — {{ amount }} (100%)</p>
    {# a comment with words #}{% comment %}Words here too{% endcomment %}
    <!-- an HTML comment -->
    <script>const words = "not visible";</script>
    <code>BPKN-2026-000123</code>
    <span translate="no">KCA Seoul</span>
    <p>ODR</p>
    {% endblock %}"""
    assert _texts(source) == []


def test_unmarked_text_and_visible_attributes_are_caught():
    source = """{% load i18n %}
<h1>Your disputes</h1>
<img src="x.png" alt="Receipt photo">
<input type="submit" value="Send now">
<input type="hidden" name="step" value="merchant">
<button name="action" value="upload">{% translate "Upload" %}</button>
<a href="#" title="{% translate 'Help' %}" aria-label="Open help">?</a>
{% if x %}<p>Nothing {{ y }} here</p>{% endif %}
<td>{{ dispute.amount|default:"Not given" }}</td>"""
    found = i18n.unmarked_in_template(source, "page.html")
    assert [(item.lineno, item.text) for item in found] == [
        (2, "Your disputes"),
        (3, 'alt="Receipt photo"'),
        (4, 'value="Send now"'),
        (7, 'aria-label="Open help"'),
        (8, "Nothing here"),
        (9, "Not given"),
    ]


def test_plain_text_email_templates_are_checked_line_by_line():
    source = (
        "{% load i18n %}{% blocktranslate %}Dear {{ name }},{% endblocktranslate %}\n\nThanks!\n"
    )
    assert _texts(source, "email/receipt.txt") == ["Thanks!"]


def test_checker_catches_an_unmarked_string_in_a_template_file(tmp_path):
    templates = tmp_path / "shop" / "templates" / "shop"
    templates.mkdir(parents=True)
    (templates / "ok.html").write_text('{% load i18n %}<p>{% translate "Fine" %}</p>')
    (templates / "bad.html").write_text("{% load i18n %}\n<p>\n  Forgot to translate me\n</p>")
    assert i18n.template_problems(tmp_path) == [
        "unmarked template text: shop/templates/shop/bad.html:3: 'Forgot to translate me'"
    ]


PYTHON = """
from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _


class Answer(forms.Form):
    name = forms.CharField(label="Your name", help_text=_("As on your ID card."))
    code = forms.RegexField("^[A-Z]{3}$", label=_("Code"))
    amount = forms.DecimalField(label=_("Amount"), help_text="%")


class Shop(models.Model):
    title = models.CharField("title", max_length=20)

    class Meta:
        verbose_name = "shop"


@admin.action(description="Close the selected shops")
def close(modeladmin, request, queryset):
    messages.success(request, "Closed.")
    raise forms.ValidationError("Not allowed")


admin.site.site_header = _("Shops")
"""


def test_python_checker_catches_unmarked_labels_messages_and_errors():
    found = [(item.lineno, item.text) for item in i18n.unmarked_in_python(PYTHON)]
    assert found == [
        (9, "Your name"),
        (15, "title"),
        (18, "shop"),
        (21, "Close the selected shops"),
        (23, "Closed."),
        (24, "Not allowed"),
    ]
