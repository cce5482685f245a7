from django.urls import path

from . import views

app_name = "merchants"
urlpatterns = [
    path("", views.open_link, name="open"),
    path("case/", views.case, name="case"),
    path("case/documents/<int:pk>/", views.document, name="document"),
    path("case/<slug:action>/", views.act, name="act"),
]
