from django.urls import path

from . import views

app_name = "relay"
urlpatterns = [
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path(".well-known/odr-partner.json", views.partner_card, name="partner_card"),
    path("relay/inbox/", views.inbox, name="inbox"),
]
