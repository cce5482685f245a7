from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("file/", views.file_start, name="file_start"),
    path("file/submitted/", views.file_done, name="file_done"),
    path("file/<slug:step>/", views.file_step, name="file_step"),
    path("track/<str:token>/", views.track, name="track"),
    path("track/<str:token>/documents/<int:pk>/", views.track_document, name="track_document"),
    path("track/<str:token>/<slug:action>/", views.track_action, name="track_action"),
    path("find/", views.find_dispute, name="find"),
    path("find/sent/", views.find_sent, name="find_sent"),
]
