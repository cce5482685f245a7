from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
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
