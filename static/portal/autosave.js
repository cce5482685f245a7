// Progressive enhancement: save a step's answers when a field changes, so a lost connection or a
// closed tab loses nothing. Without JavaScript the answers are saved when the consumer continues.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var timer = null;
  function save() {
    var data = new FormData(form);
    data.set("action", "autosave");
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST", body: data, credentials: "same-origin", keepalive: true
    }).catch(function () { /* offline: the next change or "continue" tries again */ });
  }
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(save, 300); });
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 1500); });
})();
