"""What the OpenAPI schema says beyond what drf-spectacular reads from the serializers, so that it
describes what the API really does (tests/api/test_schema_conformance.py runs schemathesis
against a live server to prove it).

- A reference code (country, category, problem type, remedy) is one of this node's codes: an
  enum, read when the schema is generated.
- Required text must hold a character other than white space (the API trims it): ``minLength``
  and a pattern.
- Every error answer names the codes it may carry (``api.errors.ERROR_CODES``), and every
  operation documents the answers any request may get (unsupported media type, too many
  requests, Redis briefly down).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from .errors import ERROR_CODES, ERROR_STATUSES_OF_EVERY_OPERATION
from .serializers import AmountField, CodeField

NOT_ONLY_SPACE = r"\S"


class CodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = CodeField

    def get_name(self):
        # One component per table (CountryCode, CategoryCode, ...), shared by its fields.
        return f"{self.target.get_queryset().model.__name__}Code"

    def map_serializer_field(self, auto_schema, direction):
        from .selectors import codes_of

        model = self.target.get_queryset().model
        return {
            "type": "string",
            "enum": codes_of(model),
            "description": f"A {model._meta.verbose_name} code of this node.",
        }


class AmountFieldSchema(OpenApiSerializerFieldExtension):
    target_class = AmountField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        whole = field.max_digits - field.decimal_places
        return {
            "type": "string",
            "format": "decimal",
            "pattern": rf"^\d{{1,{whole}}}(\.\d{{1,{field.decimal_places}}})?$",
            "example": "1250000.00",
        }


def _error_schema(status: int) -> dict:
    return {
        "type": "object",
        "description": f"The error envelope of a {status} answer.",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "enum": ERROR_CODES[status]},
                    "message": {"type": "string", "description": "For people, in their language."},
                    "fields": {
                        "type": "object",
                        "description": "Per field (dotted path), the problems with their codes.",
                        "additionalProperties": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "code": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                                "required": ["code", "message"],
                            },
                        },
                    },
                    "details": {"type": "object", "additionalProperties": True},
                },
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    }


def _required_text(schema: dict) -> None:
    """Text that may not be blank: not empty, and not only white space (which the API trims)."""
    for field in schema.get("properties", {}).values():
        if (
            field.get("type") == "string"
            and field.get("minLength", 0) >= 1
            and not {"format", "enum", "pattern"} & field.keys()
        ):
            field["pattern"] = NOT_ONLY_SPACE


def _list_sizes(schemas: dict) -> None:
    """A list that may not be empty, or has a most, says so (drf-spectacular leaves it out)."""
    from rest_framework import serializers

    from .serializers import DisputeFilingSerializer

    for serializer in (DisputeFilingSerializer,):
        component = schemas.get(serializer.__name__.removesuffix("Serializer") + "Request")
        if component is None:
            continue
        for name, field in serializer().fields.items():
            schema = component["properties"].get(name)
            if schema is None or schema.get("type") != "array":
                continue
            if isinstance(field, serializers.ManyRelatedField | serializers.ListSerializer):
                if not field.allow_empty:
                    schema["minItems"] = 1
                if getattr(field, "max_length", None):
                    schema["maxItems"] = field.max_length


# What a client does next with a dispute it filed: read it, add evidence (OpenAPI links, which
# schemathesis follows with the reference the filing answered).
LINKS = {
    ("file_dispute", "201"): {
        "GetFiledDispute": {
            "operationId": "get_dispute",
            "parameters": {"reference": "$response.body#/reference"},
        },
        "AddEvidenceToFiledDispute": {
            "operationId": "add_evidence",
            "parameters": {"reference": "$response.body#/reference"},
        },
    }
}


# Query parameters that depend on each other, which OpenAPI 3.0 can only say of the properties
# of one object: the query, as one object parameter in form style (each property its own query
# parameter, as before), with the rule as anyOf. {operationId: (parameter name, rule)}.
BOTH_OR_NEITHER = {"coverage": ("query", ("amount", "currency"))}


def _dependent_query(operation: dict) -> None:
    rule = BOTH_OR_NEITHER.get(operation.get("operationId"))
    if rule is None:
        return
    name, together = rule
    query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    operation["parameters"] = [p for p in operation.get("parameters", []) if p["in"] != "query"]
    properties = {}
    for parameter in query:
        properties[parameter["name"]] = dict(parameter["schema"])
        if parameter.get("description"):
            properties[parameter["name"]]["description"] = parameter["description"]
    operation["parameters"].append(
        {
            "in": "query",
            "name": name,
            "style": "form",
            "explode": True,
            "required": True,
            "description": f"Give {' and '.join(together)} together, or neither.",
            "schema": {
                "type": "object",
                "properties": properties,
                "required": [p["name"] for p in query if p.get("required")],
                "anyOf": [
                    {"required": list(together)},
                    {"not": {"anyOf": [{"required": [field]} for field in together]}},
                ],
            },
        }
    )


def _evidence_types(operation: dict) -> None:
    """An uploaded file is one of the types evidence may have (checked by its bytes)."""
    from disputes.evidence import ALLOWED_TYPES

    for media_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        body = operation.get("requestBody", {}).get("content", {}).get(media_type)
        if body is not None and operation.get("operationId") == "add_evidence":
            body["encoding"] = {"file": {"contentType": ", ".join(sorted(ALLOWED_TYPES))}}


def postprocess(result, generator, request, public):
    """drf-spectacular's last step: the error components and the request texts."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in schemas.items():
        if name.endswith("Request"):
            _required_text(schema)
    _list_sizes(schemas)
    schemas.pop("Error", None)
    for status in ERROR_CODES:
        schemas[f"Error{status}"] = _error_schema(status)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            _dependent_query(operation)
            _evidence_types(operation)
            responses = operation.get("responses", {})
            for (operation_id, status), links in LINKS.items():
                if operation.get("operationId") == operation_id and status in responses:
                    responses[status]["links"] = links
            for status in ERROR_STATUSES_OF_EVERY_OPERATION:
                responses.setdefault(str(status), {})
            for status, response in responses.items():
                if int(status) < 400:
                    continue
                response["description"] = response.get("description") or (
                    "Codes: " + ", ".join(f"`{code}`" for code in ERROR_CODES[int(status)])
                )
                response["content"] = {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/Error{status}"}}
                }
                if int(status) in (429, 503):
                    response["headers"] = {
                        "Retry-After": {
                            "schema": {"type": "integer"},
                            "description": "Seconds to wait before trying again.",
                        }
                    }
    return result
