from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

admin.site.site_header = _("ODR node administration")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("ops.urls")),
    path("", include("relay.urls")),
    path("api/", include("api.urls")),
    path("", include("figures.urls")),
    path("casework/", include("casework.urls")),
    path("casework/", include("enforcement.urls")),
    path("accounts/", include("accounts.urls")),
    path("merchant/", include("merchants.urls")),
    path("", include("portal.urls")),
]

handler400 = "odr.views.bad_request"
handler403 = "odr.views.permission_denied"
handler404 = "odr.views.page_not_found"
handler500 = "odr.views.server_error"
