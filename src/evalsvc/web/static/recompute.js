// Live progress of a recomputation: polls its status once a second; reloads when it ends.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box) { return; }
  var url = box.getAttribute("data-job-status");
  var bar = box.querySelector("progress");
  var pct = box.querySelector("[data-percent]");
  var stage = box.querySelector("[data-stage]");
  var state = box.querySelector("[data-state]");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.percent;
        pct.textContent = s.percent + " %";
        stage.textContent = s.stage_text;
        state.textContent = s.state_text;
        state.className = "badge " + s.state;
        if (s.state === "succeeded" || s.state === "failed") {
          window.location.reload();
          return;
        }
        window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 300);
})();
