from django.urls import path

from . import views

app_name = "relay"
urlpatterns = [
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("relay/inbox/", views.inbox, name="inbox"),
]
