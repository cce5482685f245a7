from django.urls import path

from . import views

app_name = "figures"
urlpatterns = [
    path("statistics/", views.public, name="public"),
    path("statistics/figures.json", views.public_json, name="public_json"),
    path("casework/statistics/", views.staff, name="staff"),
    path("casework/statistics/figures.csv", views.staff_export, {"fmt": "csv"}, name="csv"),
    path("casework/statistics/figures.json", views.staff_export, {"fmt": "json"}, name="json"),
    path(
        "casework/statistics/mou/<str:reference>/<str:month>.pdf",
        views.mou_report,
        name="mou_report",
    ),
]
