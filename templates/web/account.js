// The account pages without a reload: the browser's time zone on sign-up, and the
// preview redrawn as you type (GET /account/preview: the server renders it, escaped).
// Every page works without this file.
(function () {
  "use strict";
  var zone = document.querySelector("[data-from-browser]");
  if (zone && zone.value === "UTC") {
    try { zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) {}
  }
  var preview = document.getElementById("preview");
  if (!preview) return;
  document.querySelectorAll("[data-no-js]").forEach(function (el) { el.hidden = true; });
  var newQuery = document.querySelector("[data-draft-new]");
  var newKind = document.querySelector("[data-draft-new-kind]");
  var timer = null, asked = 0;

  function draft() {
    var params = new URLSearchParams();
    document.querySelectorAll("[data-draft-kind]").forEach(function (input) {
      params.append(input.getAttribute("data-draft-kind"), input.value);
    });
    if (newQuery && newQuery.value.trim()) params.append(newKind.value, newQuery.value);
    return params;
  }

  function refresh() {
    var mine = ++asked;
    fetch("/account/preview?" + draft().toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (mine !== asked) return; // an older answer arriving late
        // Server-rendered and escaped; the page's policy runs no script in it.
        preview.innerHTML = new DOMParser().parseFromString(html, "text/html").body.innerHTML;
      })
      .catch(function () {});
  }

  document.addEventListener("input", function (event) {
    var t = event.target;
    if (t.matches("[data-draft-kind], [data-draft-new], [data-draft-new-kind]")) {
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    }
  });
})();
