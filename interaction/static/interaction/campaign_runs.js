// A campaign run's progress, refreshed while the run is queued or running
// (interaction/templates/interaction/campaign_runs/detail.html). When the run
// ends, the page reloads once so that its actions (export, mark as sent) show.
(function () {
  "use strict";
  document.querySelectorAll("[data-run-progress]").forEach(function (box) {
    var delay = parseInt(box.getAttribute("data-refresh-ms"), 10) || 2000;
    function active() {
      var progress = box.querySelector("[data-run-active]");
      return progress && progress.getAttribute("data-run-active") === "1";
    }
    function refresh() {
      fetch(box.getAttribute("data-run-progress"), { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : Promise.reject(response.status);
        })
        .then(function (html) {
          box.innerHTML = html;
          if (active()) {
            window.setTimeout(refresh, delay);
          } else {
            window.location.reload();
          }
        })
        .catch(function () {
          window.setTimeout(refresh, delay * 3);
        });
    }
    if (active()) {
      window.setTimeout(refresh, delay);
    }
  });
})();
