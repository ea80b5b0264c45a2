// The variant table in place. The page works without this script (a GET
// form, links to sorts and pages); with it, the form, the sort select, the
// sortable column headers and the page links fetch the API's JSON for the
// same query string and redraw the count, the rows and the links without
// a reload. The page's URL follows (history.pushState), so the back button
// returns to each state (popstate). Text goes in with textContent only.
// While results are restored, the notice watches the job's phase and
// brings the table back when they are.
(function () {
  "use strict";

  // The contract's parameters a page URL carries, in its order.
  var PARAMS = ["gene", "consequence", "impact", "region", "id", "clinvar", "max_af", "sort", "limit", "cursor"];
  // The order each sort shows (aria-sort of its column).
  var ORDER = { position: "ascending", gene: "ascending", impact: "descending", frequency: "ascending" };
  var JSON_ONLY = { credentials: "same-origin", headers: { Accept: "application/json" } };

  // The parameters of `search` that have a value.
  function clean(search) {
    var from = new URLSearchParams(search);
    var out = new URLSearchParams();
    PARAMS.forEach(function (k) {
      var v = from.get(k);
      if (v !== null && v.trim() !== "") { out.set(k, v); }
    });
    return out;
  }

  function withQuery(path, params) {
    var q = params.toString();
    return q ? path + "?" + q : path;
  }

  function text(v) { return v === null || v === undefined ? "" : String(v); }

  function el(tag, cls, content) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (content !== undefined) { e.textContent = content; }
    return e;
  }

  function transcript(t) {
    var li = el("li");
    li.append(el("span", "gene", text(t.gene)), " ", el("span", "feature", text(t.feature)),
      " (", el("span", "biotype", text(t.biotype)), "): ",
      el("span", "consequence", text(t.consequence).replace(/&/g, ", ")), ", ",
      el("span", "impact", text(t.impact)), " ", el("span", "hgvs", text(t.hgvsc) + " " + text(t.hgvsp)));
    return li;
  }

  // One row, as the page's template writes it.
  function row(v) {
    var tr = el("tr");
    var consequence = el("td", "consequence", text(v.consequence).replace(/&/g, ", "));
    var others = v.transcripts || [];
    if (others.length) {
      var details = el("details");
      var list = el("ul");
      others.forEach(function (t) { list.append(transcript(t)); });
      details.append(el("summary", null, others.length + " more transcripts"), list);
      consequence.append(" ", details);
    }
    tr.append(el("td", "pos", v.chrom + ":" + v.pos), el("td", "id", text(v.id)),
      el("td", "change", v.ref + ">" + v.alt), el("td", "gene", text(v.gene)), consequence,
      el("td", "impact", text(v.impact)), el("td", "hgvs", text(v.hgvsc)), el("td", "hgvs", text(v.hgvsp)),
      el("td", "clinvar", text(v.clinvar).replace(/_/g, " ")), el("td", "af", text(v.af)));
    return tr;
  }

  function table(root) {
    var api = root.getAttribute("data-api");
    var pagePath = root.getAttribute("data-page");
    var form = document.getElementById("variant-filters");
    var error = document.getElementById("variants-error");
    var tbody = root.querySelector("table.variants tbody");
    var wrap = root.querySelector(".table-wrap");
    var ticket = 0;
    var prev = (history.state && history.state.variants && history.state.prev) || [];

    // The form shows the filters of the state on screen.
    function fill(params) {
      if (!form) { return; }
      ["gene", "consequence", "region", "id", "clinvar", "max_af"].forEach(function (k) {
        var field = form.elements.namedItem(k);
        if (field) { field.value = params.get(k) || ""; }
      });
      form.elements.namedItem("impact").value = (params.get("impact") || "").toUpperCase();
      form.elements.namedItem("sort").value = params.get("sort") || "position";
    }

    function link(id, href) {
      var a = document.getElementById(id);
      a.hidden = !href;
      a.setAttribute("href", href || "#");
    }

    function draw(params, answer) {
      var sort = params.get("sort") || "position";
      var filters = new URLSearchParams(params);
      filters.delete("cursor");
      filters.set("sort", sort);
      document.getElementById("count").textContent = String(answer.total);
      document.getElementById("count-words").textContent =
        answer.total === 1 ? "variant allele matches" : "variant alleles match";
      tbody.replaceChildren.apply(tbody, answer.variants.map(row));
      wrap.hidden = answer.variants.length === 0;
      document.getElementById("empty").hidden = !wrap.hidden;
      root.querySelectorAll("th a[data-sort]").forEach(function (a) {
        var by = a.getAttribute("data-sort");
        var q = new URLSearchParams(filters);
        q.set("sort", by);
        a.setAttribute("href", withQuery(pagePath, q));
        if (by === sort) { a.parentNode.setAttribute("aria-sort", ORDER[by] || "ascending"); }
        else { a.parentNode.removeAttribute("aria-sort"); }
      });
      ["tsv", "json"].forEach(function (format) {
        var q = new URLSearchParams(filters);
        q.delete("limit");
        q.set("format", format);
        document.getElementById("export-" + format).setAttribute("href", withQuery(api, q));
      });
      var next = null;
      if (answer.next) {
        next = new URLSearchParams(filters);
        next.set("cursor", answer.next);
      }
      link("next", next && withQuery(pagePath, next));
      link("first", params.has("cursor") ? withQuery(pagePath, filters) : null);
      link("prev", prev.length ? prev[prev.length - 1] : null);
      error.hidden = true;
    }

    // Shows the state of `search`: "push" a new history entry, "replace"
    // this one, or "pop" (the back button moved there already).
    function go(search, how, before) {
      var params = clean(search);
      var url = withQuery(pagePath, params);
      var mine = ++ticket;
      root.setAttribute("aria-busy", "true");
      fetch(withQuery(api, params), JSON_ONLY)
        .then(function (r) {
          if (r.ok) { return r.json(); }
          if (r.status === 400) {
            return r.json().catch(function () { return {}; }).then(function (b) {
              throw { said: b.error || "These filters are not valid." };
            });
          }
          throw { reload: r.status };
        })
        .then(function (answer) {
          if (mine !== ticket) { return; }
          prev = before;
          var state = { variants: true, prev: before };
          if (how === "push") { history.pushState(state, "", url); }
          else if (how === "replace") { history.replaceState(state, "", url); }
          fill(params);
          draw(params, answer);
          root.removeAttribute("aria-busy");
        })
        .catch(function (e) {
          if (mine !== ticket) { return; }
          root.removeAttribute("aria-busy");
          if (e && e.said) {
            error.textContent = e.said;
            error.hidden = false;
            return;
          }
          // A refusal (the window ended, the results went to cold storage)
          // or no answer: the page itself says why.
          if (how === "pop") { location.reload(); } else { location.assign(url); }
        });
    }

    function here() { return location.pathname + location.search; }

    if (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        go(new URLSearchParams(new FormData(form)).toString(), "push", []);
      });
      form.elements.namedItem("sort").addEventListener("change", function () {
        go(new URLSearchParams(new FormData(form)).toString(), "push", []);
      });
    }
    document.addEventListener("click", function (ev) {
      if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) { return; }
      var a = ev.target.closest && ev.target.closest("a");
      if (!a) { return; }
      var search = new URL(a.href, location.href).search;
      if (a.id === "clear") {
        ev.preventDefault();
        go("", "push", []);
      } else if (a.hasAttribute("data-sort") && root.contains(a)) {
        ev.preventDefault();
        go(search, "push", []);
      } else if (a.id === "next") {
        ev.preventDefault();
        go(search, "push", prev.concat([here()]));
        root.scrollIntoView({ block: "start" });
      } else if (a.id === "prev") {
        ev.preventDefault();
        if (!prev.length) { return; }
        go(new URL(prev[prev.length - 1], location.href).search, "push", prev.slice(0, -1));
        root.scrollIntoView({ block: "start" });
      } else if (a.id === "first") {
        ev.preventDefault();
        go(search, "push", []);
        root.scrollIntoView({ block: "start" });
      }
    });
    window.addEventListener("popstate", function (ev) {
      var state = ev.state && ev.state.variants ? ev.state : { prev: [] };
      go(location.search, "pop", state.prev || []);
    });
    // This entry is a state of the table too (for the back button to it).
    history.replaceState({ variants: true, prev: prev }, "", location.href);
    link("prev", prev.length ? prev[prev.length - 1] : null);
  }

  // Restoring: asks for the job page's panel now and then (the phase the
  // job page shows); once it is no longer "restoring", the page is loaded
  // again (the table, or why not).
  function restoring(notice) {
    var src = notice.getAttribute("data-src");
    function check() {
      fetch(src, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
        .then(function (html) {
          var panel = new DOMParser().parseFromString(html, "text/html").querySelector("[data-phase]");
          if (panel && panel.getAttribute("data-phase") !== "restoring") { location.reload(); }
          else { setTimeout(check, 2000); }
        })
        .catch(function () { setTimeout(check, 5000); });
    }
    setTimeout(check, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("variant-table");
    if (root && window.fetch && window.history && history.pushState) { table(root); }
    var notice = document.querySelector("#restoring-notice[data-restoring]");
    if (notice) { restoring(notice); }
  });
})();
