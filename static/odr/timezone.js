// Tell the server the browser's time zone so times show in the viewer's own zone.
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("odr_timezone=" + zone) === -1) {
      document.cookie = "odr_timezone=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (error) { /* older browsers: the agency's zone is used */ }
}());
