// Seals the voter's sheet in the browser before it is sent (issue 18): the sheet becomes a
// libsodium sealed box (crypto_box_seal) to the round's public key, which only the counting
// committee's shares can open at close. Without this script the form posts as usual and the
// server seals the sheet on receipt; the page then says so.
(function () {
  "use strict";
  var form = document.getElementById("sheet-form");
  if (!form || !window.sodium) { return; }
  var MARK = { observed: "1", not_observed: "0", no_basis: "x" };
  var forms = JSON.parse(document.getElementById("sheet-forms").textContent);

  function value(name) {
    var el = form.elements.namedItem(name);
    if (!el) { return ""; }
    if (el.value !== undefined && !(el instanceof RadioNodeList)) { return el.value; }
    return el.value || "";
  }

  function sheet() {
    var ballots = [];
    var targets = [];
    form.querySelectorAll("section.colleague").forEach(function (section) {
      var target = section.dataset.target;
      var items = forms[section.dataset.form];
      var marks = items.map(function (code) {
        var chosen = form.querySelector('input[name="m.' + target + "." + code + '"]:checked');
        return MARK[chosen ? chosen.value : "not_observed"];
      }).join("");
      targets.push(target);
      ballots.push({
        target: target,
        marks: marks,
        level: value("level." + target),
        confidence: value("conf." + target),
        comment: value("comment." + target).normalize("NFC").trim()
      });
    });
    return { targets: targets, body: { round: Number(form.dataset.round), ballots: ballots } };
  }

  function fail(message) {
    var box = document.getElementById("seal-error");
    box.textContent = message;
    box.hidden = false;
    form.querySelector("button[type=submit]").disabled = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    form.querySelector("button[type=submit]").disabled = true;
    window.sodium.ready.then(function () {
      var s = sheet();
      var key = window.sodium.from_base64(form.dataset.publicKey, window.sodium.base64_variants.ORIGINAL);
      var sealed = window.sodium.crypto_box_seal(window.sodium.from_string(JSON.stringify(s.body)), key);
      return fetch("/ballot/sealed-sheets", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Authorization": "Bearer " + form.dataset.code },
        body: JSON.stringify({
          targets: s.targets,
          sealed: window.sodium.to_base64(sealed, window.sodium.base64_variants.ORIGINAL)
        })
      });
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (response.status === 201) {
          window.location.assign(form.action + "?done=1&sealed=browser&receipt=" + answer.receipt);
        } else {
          fail(answer.detail || form.dataset.failed);
        }
      });
    }).catch(function () { fail(form.dataset.failed); });
  });
  form.dataset.sealing = "browser";
})();
