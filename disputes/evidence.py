"""Evidence files: checked by their content, stored outside the web root under their SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from odr.errors import InvalidInput

from .models import Dispute, Evidence

ALLOWED_TYPES = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "image/webp": {".webp"},
    "text/plain": {".txt", ".text", ".log", ""},
}
EXTENSIONS = {ext for exts in ALLOWED_TYPES.values() for ext in exts if ext}


def detect_content_type(content: bytes) -> str | None:
    """The file's type from its bytes, never from its name; None for anything not allowed."""
    kind = filetype.guess(content[:8192])
    if kind is not None:
        return kind.mime if kind.mime in ALLOWED_TYPES else None
    sample = content[:65536]
    if b"\x00" in sample:
        return None
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the sample's end is still text.
        if error.start < len(sample) - 4:
            return None
        text = sample[: error.start].decode("utf-8")
    control = sum(1 for char in text if ord(char) < 32 and char not in "\r\n\t\f")
    return "text/plain" if control == 0 else None


def check_evidence(name: str, content: bytes) -> str:
    """Validate one evidence file; return its detected content type or raise ``InvalidInput``."""
    limit = settings.ODR_MAX_EVIDENCE_FILE_BYTES
    if len(content) == 0:
        raise InvalidInput(_("%(name)s is empty.") % {"name": name}, code="file_empty")
    if len(content) > limit:
        raise InvalidInput(
            _("%(name)s is %(size)s; each file may be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(len(content)), "limit": filesizeformat(limit)},
            code="file_too_large",
        )
    detected = detect_content_type(content)
    if detected is None:
        raise InvalidInput(
            _("%(name)s is not a PDF, JPEG, PNG, WebP or plain-text file.") % {"name": name},
            code="file_type_not_allowed",
        )
    extension = PurePath(name).suffix.lower()
    if extension in EXTENSIONS and extension not in ALLOWED_TYPES[detected]:
        raise InvalidInput(
            _("%(name)s says it is %(ext)s but its content is %(type)s.")
            % {"name": name, "ext": extension, "type": detected},
            code="file_type_mismatch",
        )
    return detected


@transaction.atomic
def store_evidence(
    dispute: Dispute, *, name: str, content: bytes, uploaded_by: str
) -> tuple[Evidence, bool]:
    """Store a file once per dispute (by hash), as (evidence, created): the same bytes again
    return the stored file with created False."""
    content_type = check_evidence(name, content)
    total = sum(dispute.evidence.values_list("size", flat=True)) + len(content)
    if total > settings.ODR_MAX_CASE_EVIDENCE_BYTES:
        # Everything filed must fit in one case packet when forwarded (see settings).
        raise InvalidInput(
            _("Together the files would be %(size)s; a case can carry at most %(limit)s.")
            % {
                "size": filesizeformat(total),
                "limit": filesizeformat(settings.ODR_MAX_CASE_EVIDENCE_BYTES),
            },
            code="evidence_total_too_large",
        )
    digest = hashlib.sha256(content).hexdigest()
    existing = dispute.evidence.filter(sha256=digest).first()
    if existing:
        return existing, False
    evidence = Evidence(
        dispute=dispute,
        original_name=PurePath(name).name[:255] or "evidence",
        sha256=digest,
        size=len(content),
        content_type=content_type,
        uploaded_by=uploaded_by,
    )
    evidence.file.save(digest, ContentFile(content), save=False)
    evidence.save()
    return evidence, True
