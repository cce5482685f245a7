"""Documents as PDF: HTML and one stylesheet rendered by WeasyPrint, whose Pango lays out
Indonesian, Korean and English text with the system's fonts (Noto CJK for Korean)."""

from __future__ import annotations


def render_pdf(html: str, *, stylesheet: str, base_url: str = "") -> bytes:
    """``stylesheet``: a static file's path (e.g. "figures/report.css"). The style is a file, as
    for every page: no inline style anywhere (the site's CSP)."""
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML

    style = CSS(filename=finders.find(stylesheet))
    return HTML(string=html, base_url=base_url or "/").write_pdf(stylesheets=[style])
