from django.urls import path

from . import views

app_name = "enforcement"
urlpatterns = [
    path("merchants/", views.merchants, name="merchants"),
    path("merchants/<path:key>/referrals/", views.prepare_referral, name="prepare_referral"),
    path("merchants/<path:key>/", views.merchant, name="merchant"),
    path("referrals/<str:number>/", views.referral, name="referral"),
    path("referrals/<str:number>/document.pdf", views.referral_pdf, name="referral_pdf"),
]
