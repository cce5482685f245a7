"""The intake API. Views only translate HTTP to services and selectors and back."""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.reads import logs_personal_data_read
from odr.errors import InvalidInput

from . import selectors, services
from .authentication import ApiKeyAuthentication
from .models import Scope
from .permissions import HasScope
from .serializers import (
    CoverageQuerySerializer,
    CoverageSerializer,
    DisputeFilingSerializer,
    DisputeSerializer,
    EvidenceSerializer,
    EvidenceUploadResultSerializer,
    EvidenceUploadSerializer,
    ReferenceDataSerializer,
)
from .throttling import ApiClientThrottle

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    description=(
        "Any unique string (e.g. a UUID), at most 255 characters. A retry with the same key and "
        "the same body gets the first answer again (header Idempotent-Replayed: true) and files "
        "nothing twice; the same key with another body is refused with 422 "
        "idempotency_key_reused."
    ),
)


class ErrorSerializer(drf_serializers.Serializer):
    """{"error": {"code", "message", "fields"?, "details"?}}"""

    error = drf_serializers.DictField()


def errors(*statuses: int) -> dict:
    return {code: OpenApiResponse(ErrorSerializer) for code in statuses}


class ClientApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiClientThrottle]
    required_scopes: dict[str, str] = {}


def _idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 255:
        raise InvalidInput(
            _("The Idempotency-Key header must have 1 to 255 characters."),
            code="invalid_idempotency_key",
        )
    return key


def _respond_once(
    request, serializer, payload, produce, *, headers=None, stores_files=False
) -> Response:
    """Answer ``produce()``, at most once per Idempotency-Key when the client sends one.

    ``payload`` is what identifies the request (its fingerprint). An invalid request whose key
    was used before gets the stored answer (or 422), as the first request's answer stands.
    ``stores_files`` (a bool, or a function of the validated data): the work writes files, so
    the key is reserved before it (see ``services.run_idempotent``).
    """
    client = request.user
    key = _idempotency_key(request)
    if not serializer.is_valid():
        if key is not None:
            fingerprint = services.fingerprint(request.method, request.path, payload)
            outcome = services.stored_outcome(client, key, fingerprint)
            if outcome is not None:
                return _outcome_response(outcome, headers)
        raise ValidationError(serializer.errors)
    if key is None:
        with transaction.atomic():
            code, body = produce(serializer.validated_data)
        return _outcome_response(services.Outcome(code, body), headers)
    outcome = services.run_idempotent(
        client,
        key,
        method=request.method,
        path=request.path,
        request_fingerprint=services.fingerprint(request.method, request.path, payload),
        produce=lambda: produce(serializer.validated_data),
        reserve=stores_files(serializer.validated_data) if callable(stores_files) else stores_files,
    )
    return _outcome_response(outcome, headers)


def _sha256(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _outcome_response(outcome, headers) -> Response:
    response_headers = headers(outcome.body) if headers else {}
    if outcome.replayed:
        response_headers["Idempotent-Replayed"] = "true"
    return Response(outcome.body, status=outcome.status, headers=response_headers)


class DisputeListView(ClientApiView):
    required_scopes = {"POST": Scope.DISPUTES_CREATE}
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="file_dispute",
        summary="File a dispute",
        description=(
            "Files a dispute at this node's agency on behalf of a consumer. Needs the scope "
            "disputes:create. Evidence may come inline as base64 or later through the "
            "evidence endpoint."
        ),
        parameters=[IDEMPOTENCY_HEADER],
        request=DisputeFilingSerializer,
        responses={201: DisputeSerializer, **errors(400, 401, 403, 409, 422, 429)},
    )
    def post(self, request):
        client = request.user

        def produce(data):
            data = dict(data)
            evidence = [(item["name"], item["content"]) for item in data.pop("evidence", [])]
            dispute = services.file_dispute_for_client(client, evidence=evidence, **data)
            selectors.with_public_parts(dispute, has_evidence=bool(evidence))
            return status.HTTP_201_CREATED, dict(DisputeSerializer(dispute).data)

        def location(body):
            return {
                "Location": reverse("api:dispute-detail", kwargs={"reference": body["reference"]})
            }

        return _respond_once(
            request,
            DisputeFilingSerializer(data=request.data),
            request.data,
            produce,
            headers=location,
            stores_files=lambda data: bool(data.get("evidence")),
        )


class DisputeDetailView(ClientApiView):
    required_scopes = {"GET": Scope.DISPUTES_READ}

    @extend_schema(
        operation_id="get_dispute",
        summary="A dispute this client filed",
        description=(
            "Status, deadlines, the timeline the consumer sees and the evidence. Needs "
            "disputes:read. Disputes filed by other clients or on the web answer 404."
        ),
        responses={200: DisputeSerializer, **errors(401, 403, 404, 429)},
    )
    @method_decorator(logs_personal_data_read("api"))
    def get(self, request, reference: str):
        dispute = selectors.dispute_of(request.user, reference)
        if dispute is None:
            raise NotFound(_("No dispute with this reference was filed by this client."))
        return Response(DisputeSerializer(dispute).data)


class EvidenceView(ClientApiView):
    required_scopes = {"POST": Scope.EVIDENCE_CREATE}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="add_evidence",
        summary="Add an evidence file",
        description=(
            "Adds one file (multipart field `file`) to an open dispute this client filed. "
            "Files are checked by their content: a name that does not match the content is "
            "refused with file_type_mismatch. Needs evidence:create."
        ),
        parameters=[IDEMPOTENCY_HEADER],
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceUploadResultSerializer, **errors(400, 401, 403, 404, 409, 422)},
    )
    def post(self, request, reference: str):
        client = request.user
        dispute = selectors.dispute_of(client, reference)
        if dispute is None:
            raise NotFound(_("No dispute with this reference was filed by this client."))
        files = {name: [upload.name, _sha256(upload)] for name, upload in request.FILES.items()}

        def produce(data):
            upload = data["file"]
            evidence = services.add_evidence_for_client(
                client, dispute, name=upload["name"], content=upload["content"]
            )
            return status.HTTP_201_CREATED, {
                "reference": dispute.reference,
                "evidence": dict(EvidenceSerializer(evidence).data),
            }

        return _respond_once(
            request,
            EvidenceUploadSerializer(data=request.data),
            {"files": files},
            produce,
            stores_files=True,
        )


class ReferenceDataView(ClientApiView):
    @extend_schema(
        operation_id="reference_data",
        summary="Codes a filing uses",
        description=(
            "Countries, categories, problem types, remedies and payment methods, with names in "
            "the language of the Accept-Language header (en, id, ko)."
        ),
        responses={200: ReferenceDataSerializer, **errors(401, 429)},
    )
    def get(self, request):
        return Response(selectors.reference_data())


class CoverageView(ClientApiView):
    @extend_schema(
        operation_id="coverage",
        summary="Is a cross-border claim covered?",
        description=(
            "Whether this node's agency has an MoU in force with an agency in the merchant's "
            "country and whether the claim (category, amount) is within its scope."
        ),
        parameters=[CoverageQuerySerializer],
        responses={200: CoverageSerializer, **errors(400, 401, 429)},
    )
    def get(self, request):
        query = CoverageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = selectors.coverage(
            request.user.agency,
            query.validated_data["merchant_country"],
            category=query.validated_data.get("category"),
            amount=query.validated_data.get("amount"),
            currency=query.validated_data.get("currency", ""),
        )
        return Response(
            {
                "merchant_country": result.merchant_country.code,
                "home_agency": result.home_agency.code,
                "partner_agency": result.partner_agency.code if result.partner_agency else None,
                "mou": result.mou.reference if result.mou else None,
                "covered": result.covered,
                "problems": [
                    {"code": code, "message": message} for code, message in result.problems
                ],
            }
        )
