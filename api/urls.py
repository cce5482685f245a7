from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The page and its set-up script as two requests, so that no inline script is needed.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    path("v1/disputes/", views.DisputeListView.as_view(), name="dispute-list"),
    path("v1/disputes/<str:reference>/", views.DisputeDetailView.as_view(), name="dispute-detail"),
    path(
        "v1/disputes/<str:reference>/evidence/",
        views.EvidenceView.as_view(),
        name="dispute-evidence",
    ),
    path("v1/reference-data/", views.ReferenceDataView.as_view(), name="reference-data"),
    path("v1/coverage/", views.CoverageView.as_view(), name="coverage"),
]
