// Feedback without reloading: the form is posted in the background and the verdict
// shown on its button. Without JavaScript the same form posts and comes back here.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var button = event.submitter;
  if (!form.classList.contains("feedback") || !button || !window.fetch) return;
  event.preventDefault();
  if (form.dataset.busy) return; // a double click posts once
  form.dataset.busy = "1";
  var body = new URLSearchParams(new FormData(form));
  body.set("value", button.value);
  var status = form.querySelector(".status");
  fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
                      headers: {"Accept": "application/json"}})
    .then(function (answer) {
      if (!answer.ok) throw new Error(String(answer.status));
      return answer.json();
    })
    .then(function (recorded) {
      form.querySelectorAll("button").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.value === recorded.value));
      });
      status.textContent = "Recorded";
    })
    .catch(function () { status.textContent = "Not recorded: try again"; })
    .finally(function () { delete form.dataset.busy; });
});
