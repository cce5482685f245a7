from django.urls import path

from . import views

app_name = "casework"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("file/", views.file_on_behalf, name="file"),
    path("workload/", views.workload, name="workload"),
    path("views/", views.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", views.delete_view, name="delete_view"),
    path("disputes/<str:reference>/assign/", views.assign, name="assign"),
    path(
        "disputes/<str:reference>/referral/decide/",
        views.decide_referral,
        name="decide_referral",
    ),
    path("disputes/<str:reference>/", views.detail, name="detail"),
    path("disputes/<str:reference>/act/<slug:action>/", views.act, name="act"),
    path("disputes/<str:reference>/messages/", views.post_message, name="post_message"),
    path(
        "disputes/<str:reference>/messages/<int:message_id>/translations/",
        views.translate_message,
        name="translate_message",
    ),
    path("disputes/<str:reference>/documents/", views.add_document, name="add_document"),
    path("disputes/<str:reference>/merchant/", views.invite_merchant, name="invite_merchant"),
    path(
        "disputes/<str:reference>/account/translations/",
        views.translate_account,
        name="translate_account",
    ),
    path(
        "disputes/<str:reference>/merchant/revoke/",
        views.revoke_merchant_link,
        name="revoke_merchant_link",
    ),
    path(
        "disputes/<str:reference>/evidence/<int:evidence_id>/",
        views.download_evidence,
        name="evidence",
    ),
]
