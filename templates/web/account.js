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

  // The parser's complaint beside the field being typed in, not only in the preview.
  var draftError = document.getElementById("draft-error");
  function showDraftError() {
    if (!draftError) return;
    var found = preview.querySelector("#preview-error");
    var caret = preview.querySelector(".caret");
    draftError.replaceChildren();
    if (!found) return;
    var line = document.createElement("p");
    line.className = "error";
    line.textContent = found.textContent;
    draftError.appendChild(line);
    if (caret) draftError.appendChild(caret.cloneNode(true));
  }

  function refresh() {
    var mine = ++asked;
    fetch("/account/preview?" + draft().toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (mine !== asked) return; // an older answer arriving late
        // Server-rendered and escaped; the page's policy runs no script in it.
        preview.innerHTML = new DOMParser().parseFromString(html, "text/html").body.innerHTML;
        showDraftError();
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
