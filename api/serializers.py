"""What the API accepts and answers. Field names follow the Dispute model's."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from agencies.models import Category, Country
from disputes.evidence import check_evidence
from disputes.models import PaymentMethod, ProblemType, Remedy, Status
from odr.errors import InvalidInput

from .selectors import by_code

MAX_EVIDENCE_FILES = 10
LANGUAGE_CHOICES = [code for code, _name in settings.LANGUAGES]


def checked_evidence(name: str, content: bytes) -> None:
    """Turn the domain's evidence check into a field error with the domain's code."""
    try:
        check_evidence(name, content)
    except InvalidInput as error:
        raise serializers.ValidationError(error.message, code=error.code) from None


class SharedFields:
    # Mixin: a serializer class's fields are built once per process and language, not once per
    # instance.
    #
    # DRF deep-copies every declared field (running each field's __init__ again) for every
    # serializer instance: for a filing that cost more CPU than validating it and writing the
    # answer. Here the fields are built for a template instance of the class and shared by all
    # its instances. Only for serializers whose fields keep no per-request state: none reads
    # context, partial or instance, and nothing changes fields after they are built;
    # validation and representation only read them (so threads may share them). One set per
    # active language: DRF formats some validators' messages (max_length, min_value) once, in
    # the language active at the time, and keeps the text.
    # (A comment, not a docstring: drf-spectacular would describe every serializer with it.)

    @property
    def fields(self):
        cls = type(self)
        by_language = cls.__dict__.get("_shared_fields")
        if by_language is None:
            by_language = cls._shared_fields = {}
        language = translation.get_language()
        fields = by_language.get(language)
        if fields is None:
            template = cls()
            fields = BindingDict(template)
            for name, field in template.get_fields().items():
                fields[name] = field
            if len(by_language) < 16:  # the languages this node speaks, in practice
                by_language[language] = fields
        return fields


class CodeField(serializers.SlugRelatedField):
    """A reference row given by its code, looked up in the per-process code cache."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        row = by_code(self.get_queryset().model, data)
        if row is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return row


class AmountField(serializers.DecimalField):
    """An amount of money: not negative, at most two decimals (api/schema.py gives its pattern)."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=18, decimal_places=2, min_value=0, **kwargs)


class Base64EvidenceSerializer(SharedFields, serializers.Serializer):
    name = serializers.CharField(max_length=255, help_text=_("File name, e.g. receipt.pdf."))
    content_base64 = serializers.CharField(
        help_text=_("The file's bytes in base64. PDF, JPEG, PNG, WebP or plain text.")
    )

    def validate(self, attrs):
        try:
            content = base64.b64decode(attrs["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError(
                {"content_base64": [_("This is not valid base64.")]}, code="invalid_base64"
            ) from None
        try:
            checked_evidence(attrs["name"], content)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"content_base64": error.detail}) from None
        return {"name": attrs["name"], "content": content}


class DisputeFilingSerializer(SharedFields, serializers.Serializer):
    consumer_name = serializers.CharField(max_length=200)
    consumer_email = serializers.EmailField(max_length=254)
    consumer_phone = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    consumer_country = CodeField(
        queryset=Country.objects.all(), help_text=_("ISO 3166 code, e.g. ID.")
    )
    consumer_language = serializers.ChoiceField(choices=LANGUAGE_CHOICES)

    merchant_name = serializers.CharField(max_length=200)
    merchant_website = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    merchant_country = CodeField(
        queryset=Country.objects.all(), help_text=_("ISO 3166 code, e.g. KR.")
    )
    merchant_contact = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )

    purchase_date = serializers.DateField()
    order_number = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    amount = AmountField()
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        error_messages={"invalid": _("Use the three-letter ISO 4217 code.")},
        help_text=_("ISO 4217 code, e.g. IDR."),
    )
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    platform = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    category = CodeField(queryset=Category.objects.all())
    problem_types = CodeField(queryset=ProblemType.objects.all(), many=True, allow_empty=False)
    desired_remedy = CodeField(queryset=Remedy.objects.all())
    consumer_account = serializers.CharField(
        max_length=20_000, help_text=_("What happened, in the consumer's words.")
    )
    filing_language = serializers.ChoiceField(choices=LANGUAGE_CHOICES)
    evidence = Base64EvidenceSerializer(many=True, required=False, max_length=MAX_EVIDENCE_FILES)


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("PDF, JPEG, PNG, WebP or plain text."))

    def validate_file(self, upload):
        if upload.size > settings.ODR_MAX_EVIDENCE_FILE_BYTES:
            # Refused by its declared size, before its bytes are read into memory.
            raise serializers.ValidationError(
                _("%(name)s is %(size)s; each file may be at most %(limit)s.")
                % {
                    "name": upload.name,
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.ODR_MAX_EVIDENCE_FILE_BYTES),
                },
                code="file_too_large",
            )
        content = upload.read()
        checked_evidence(upload.name, content)
        return {"name": upload.name, "content": content}


class EvidenceSerializer(SharedFields, serializers.Serializer):
    name = serializers.CharField(source="original_name")
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    uploaded_by = serializers.CharField()
    uploaded_at = serializers.DateTimeField()


class TimelineEventSerializer(SharedFields, serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    text = serializers.CharField()
    language = serializers.CharField()


class DeadlinesSerializer(SharedFields, serializers.Serializer):
    review_due_on = serializers.DateField(allow_null=True)
    acknowledge_due_on = serializers.DateField(allow_null=True)
    merchant_contact_due_on = serializers.DateField(allow_null=True)
    resolution_due_on = serializers.DateField(allow_null=True)


class StatusDisplayField(serializers.CharField):
    """A status's label in the active language, as ``Dispute.get_status_display()`` gives it
    (which hashes every choice's translated label on each call)."""

    labels = dict(Status.choices)

    def to_representation(self, value):
        return str(self.labels.get(value, value))


class DisputeSerializer(SharedFields, serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_display = StatusDisplayField(source="status")
    status_changed_at = serializers.DateTimeField()
    filed_at = serializers.DateTimeField()
    home_agency = serializers.CharField(source="home_agency.code")
    partner_agency = serializers.CharField(source="partner_agency.code", allow_null=True)
    deadlines = DeadlinesSerializer(source="*")
    timeline = TimelineEventSerializer(many=True, source="public_timeline")
    evidence = EvidenceSerializer(many=True, source="evidence_files")


class EvidenceUploadResultSerializer(serializers.Serializer):
    reference = serializers.CharField()
    evidence = EvidenceSerializer()


class NamedCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CountrySerializer(NamedCodeSerializer):
    currency = serializers.CharField()
    official_languages = serializers.ListField(child=serializers.CharField())


class ReferenceDataSerializer(serializers.Serializer):
    countries = CountrySerializer(many=True)
    categories = NamedCodeSerializer(many=True)
    problem_types = NamedCodeSerializer(many=True)
    remedies = NamedCodeSerializer(many=True)
    payment_methods = NamedCodeSerializer(many=True)


class CoverageQuerySerializer(serializers.Serializer):
    merchant_country = CodeField(queryset=Country.objects.all())
    category = CodeField(queryset=Category.objects.all(), required=False)
    amount = AmountField(required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)

    def validate(self, attrs):
        # A query parameter given empty is refused, not taken as left out (DRF's form habit).
        blank = {
            name: [serializers.ErrorDetail(_("This field may not be blank."), code="blank")]
            for name in ("category", "amount", "currency")
            if self.initial_data.get(name, None) == ""
        }
        if blank:
            raise serializers.ValidationError(blank)
        if ("amount" in attrs) != ("currency" in attrs):
            raise serializers.ValidationError(
                {"currency": [_("Give the amount and its currency together.")]},
                code="amount_needs_currency",
            )
        return attrs


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class CoverageSerializer(serializers.Serializer):
    merchant_country = serializers.CharField()
    home_agency = serializers.CharField()
    partner_agency = serializers.CharField(allow_null=True)
    mou = serializers.CharField(allow_null=True, help_text=_("Reference of the MoU in force."))
    covered = serializers.BooleanField()
    problems = ProblemSerializer(many=True)
