// The committee key pages (issue 18): a member's X25519 key pair is made here, in the
// browser, with the vendored libsodium-wrappers. The private half is saved as a file by the
// member and never sent; only the public half is registered. On a round's page the same
// file opens the member's sealed share locally (crypto_box_seal_open).
(function () {
  "use strict";
  var PREFIX = "evalsvc-committee-key-1:";
  if (!window.sodium) { return; }

  function b64(bytes) { return window.sodium.to_base64(bytes, window.sodium.base64_variants.ORIGINAL); }
  function unb64(text) { return window.sodium.from_base64(text, window.sodium.base64_variants.ORIGINAL); }

  var page = document.getElementById("committee-key");
  var make = document.getElementById("make-key");
  if (page && make) {
    window.sodium.ready.then(function () { make.hidden = false; });
    make.addEventListener("click", function () {
      var pair = window.sodium.crypto_box_keypair();
      var text = PREFIX + b64(pair.privateKey) + "\n";
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
      link.download = "evalsvc-committee-key-" + page.dataset.username + ".txt";
      document.body.appendChild(link);
      link.click();
      link.remove();
      document.getElementById("f-public_key").value = b64(pair.publicKey);
      document.getElementById("key-saved").hidden = false;
    });
  }

  var opener = document.getElementById("share-opener");
  if (opener) {
    var file = document.getElementById("f-keyfile");
    var out = document.getElementById("share-text");
    var problem = document.getElementById("share-error");
    window.sodium.ready.then(function () { opener.hidden = false; });
    file.addEventListener("change", function () {
      if (!file.files.length) { return; }
      var reader = new FileReader();
      reader.onload = function () {
        problem.hidden = true;
        try {
          var text = String(reader.result).trim();
          if (text.indexOf(PREFIX) !== 0) { throw new Error("format"); }
          var secret = unb64(text.slice(PREFIX.length));
          var pub = window.sodium.crypto_scalarmult_base(secret);
          var share = window.sodium.to_string(window.sodium.crypto_box_seal_open(
            unb64(opener.dataset.sealed), pub, secret));
          out.textContent = share;
          out.parentElement.hidden = false;
          var shares = document.getElementById("f-shares");
          if (shares && shares.value.indexOf(share) < 0) {
            shares.value = (shares.value.trim() ? shares.value.trim() + "\n" : "") + share;
          }
        } catch (e) {
          problem.hidden = false;
        }
        file.value = "";
      };
      reader.readAsText(file.files[0]);
    });
  }
})();
