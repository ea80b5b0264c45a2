// GAS pages work without this script; it only adds the live parts:
// local times, a job panel that refreshes itself, the download countdown,
// and a size check before an upload starts.
(function () {
  "use strict";

  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) {
        el.textContent = when.toLocaleString(undefined, {
          year: "numeric", month: "short", day: "numeric",
          hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
        });
        el.title = when.toISOString();
      }
    });
  }

  // The job panel: asks the server for a fresh copy while something is
  // changing (data-poll ms), and when a free download window runs out.
  var timer = null;
  function schedule(panel) {
    clearTimeout(timer);
    var poll = parseInt(panel.getAttribute("data-poll") || "0", 10);
    if (poll > 0) { timer = setTimeout(function () { refresh(panel); }, poll); }
    startCountdown(panel);
  }

  function refresh(panel) {
    fetch(panel.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var box = document.createElement("div");
        box.innerHTML = html.trim();
        var fresh = box.firstElementChild;
        if (!fresh) { return; }
        panel.replaceWith(fresh);
        localTimes(fresh);
        schedule(fresh);
        loadSummary(fresh);
      })
      .catch(function () { timer = setTimeout(function () { refresh(panel); }, 3000); });
  }

  // The pictures of a job sit outside the panel: when a job completes while
  // its page is open, they are fetched once from the page itself.
  function loadSummary(panel) {
    var phase = panel.getAttribute("data-phase");
    if (phase === "queued" || phase === "running" || phase === "failed") { return; }
    if (document.querySelector(".summary")) { return; }
    fetch(location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var summary = doc.querySelector(".summary");
        var here = document.getElementById("job-panel");
        if (summary && here && !document.querySelector(".summary")) {
          here.after(document.importNode(summary, true));
        }
      })
      .catch(function () { /* the pictures show on the next visit */ });
  }

  var ticker = null;
  function startCountdown(panel) {
    clearInterval(ticker);
    var el = panel.querySelector("[data-until]");
    if (!el) { return; }
    var until = parseInt(el.getAttribute("data-until"), 10) * 1000;
    function tick() {
      var left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = (m > 0 ? m + " min " : "") + s + " s";
      if (left <= 0) { clearInterval(ticker); refresh(panel); }
    }
    tick();
    ticker = setInterval(tick, 1000);
  }

  function uploadCheck(form) {
    var input = form.querySelector("input[type=file]");
    var out = form.querySelector("#file-check");
    var limit = parseInt(form.getAttribute("data-limit") || "0", 10);
    var prefix = form.getAttribute("data-key-prefix");
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      input.setCustomValidity("");
      out.textContent = "";
      if (!file) { return; }
      if (limit > 0 && file.size > limit) {
        var msg = "This file is " + Math.ceil(file.size / 1024) + " KiB; your plan takes files up to " +
          form.getAttribute("data-limit-text") + ".";
        input.setCustomValidity(msg);
        out.textContent = msg;
      } else if (!/\.vcf$/i.test(file.name)) {
        input.setCustomValidity("Choose a .vcf file.");
        out.textContent = "Choose a .vcf file.";
      }
      // Direct uploads: the key names the file as the server would clean it.
      if (prefix) {
        var clean = file.name.replace(/^.*[\\/]/, "").replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
        form.querySelector("input[name=key]").value = prefix + clean;
      }
    });
  }

  // Premium with Stripe: Stripe.js shows the card field in its own frame
  // and turns the card into a PaymentMethod id, which is all the form posts.
  function cardForm(form) {
    if (typeof Stripe !== "function") { return; }
    var stripe = Stripe(form.getAttribute("data-card-key"));
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var out = document.getElementById("card-error");
    var busy = false;
    form.addEventListener("submit", function (ev) {
      var field = document.getElementById("payment-method");
      if (field.value) { return; }
      ev.preventDefault();
      if (busy) { return; }
      busy = true;
      stripe.createPaymentMethod({ type: "card", card: card }).then(function (result) {
        busy = false;
        if (result.error || !result.paymentMethod) {
          out.textContent = (result.error && result.error.message) || "The card was not accepted.";
          out.hidden = false;
          return;
        }
        field.value = result.paymentMethod.id;
        form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    var panel = document.querySelector("[data-live]");
    if (panel) { schedule(panel); }
    var form = document.getElementById("upload-form");
    if (form) { uploadCheck(form); }
    var subscribe = document.querySelector("#subscribe-form[data-card-key]");
    if (subscribe) { cardForm(subscribe); }
  });
})();
