// Curation in the browser: sign in, review pending submissions, contribute a record.
// The token stays in this tab's sessionStorage and travels only as the Authorization header
// of requests to this server (same origin); it is never put in a URL or a cookie.
(function () {
  "use strict";
  var KEY = "coprod-token";
  var prefix = (document.querySelector("a.brand").getAttribute("href") || "/").replace(/\/$/, "");

  function token() { return window.sessionStorage.getItem(KEY); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function say(id, text) { var node = document.getElementById(id); if (node) { node.textContent = text; } }
  function api(method, path, body, type) {
    var headers = { "Accept": "application/json" };
    if (token()) { headers.Authorization = "Bearer " + token(); }
    if (type) { headers["Content-Type"] = type; }
    return fetch(prefix + path, { method: method, headers: headers, body: body,
                                  credentials: "omit", cache: "no-store" })
      .then(function (response) {
        var kind = response.headers.get("content-type") || "";
        var read = kind.indexOf("json") >= 0 ? response.json() : response.text();
        return read.then(function (data) { return { status: response.status, data: data }; });
      });
  }
  function problem(result) {
    var data = result.data || {};
    return "Error " + result.status + ": " + (data.message || data.detail || data);
  }

  // --- sign in ------------------------------------------------------------------------------
  function showWho() {
    var link = document.querySelector("a.sign-in");
    if (!token()) { say("who", "Not signed in."); return; }
    api("GET", "/submissions").then(function (result) {
      var role = result.status === 200 ? "curator" : result.status === 403 ? "contributor" : "";
      if (!role) {
        window.sessionStorage.removeItem(KEY);
        say("who", "The token was not accepted (" + problem(result) + ").");
        return;
      }
      say("who", "Signed in as a " + role + ".");
      if (link) { link.textContent = "Signed in (" + role + ")"; }
    });
  }
  var signIn = document.getElementById("sign-in-form");
  if (signIn) {
    signIn.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = document.getElementById("token").value.trim();
      if (value) { window.sessionStorage.setItem(KEY, value); }
      document.getElementById("token").value = "";
      showWho();
    });
    document.getElementById("sign-out").addEventListener("click", function () {
      window.sessionStorage.removeItem(KEY);
      say("who", "Signed out.");
    });
    showWho();
  }

  // --- a validation report, with the record's lines highlighted --------------------------------
  function renderReport(report, container, linesList, text) {
    container.textContent = "";
    var head = el("p", { "class": "summary" }, (report.conforms ? "Conforms" : "Does not conform") +
      ": " + report.errors + " error(s), " + report.warnings + " warning(s).");
    container.appendChild(head);
    var byLine = {};
    var list = el("ul", { "class": "findings" });
    (report.findings || []).forEach(function (f) {
      var item = el("li", { "class": "finding " + f.severity });
      item.appendChild(el("strong", {}, (f.severity === "violation" ? "Error" : f.severity) +
        (f.line ? " (line " + f.line + ")" : "") + (f.field ? ", " + f.field : "") + ": "));
      item.appendChild(document.createTextNode(f.message + (f.expected ? " Expected: " + f.expected : "")));
      list.appendChild(item);
      if (f.line) { (byLine[f.line] = byLine[f.line] || []).push(f); }
    });
    container.appendChild(list);
    if (linesList && text !== undefined) {
      linesList.textContent = "";
      text.split("\n").forEach(function (line, i) {
        var hits = byLine[i + 1];
        var li = el("li", { value: String(i + 1) });
        li.appendChild(el("code", {}, line));
        if (hits) {
          li.className = "hit " + hits[0].severity;
          li.appendChild(el("span", { "class": "note" }, " " + hits.map(function (h) { return h.message; }).join("; ")));
        }
        linesList.appendChild(li);
      });
    }
  }

  // --- the list of pending submissions --------------------------------------------------------
  var pending = document.getElementById("pending");
  if (pending) {
    if (!token()) {
      say("review-status", "Sign in as a curator to see the pending submissions.");
    } else {
      api("GET", "/submissions").then(function (result) {
        if (result.status !== 200) { say("review-status", problem(result)); return; }
        var body = pending.querySelector("tbody");
        pending.querySelector(".n").textContent = result.data.length;
        result.data.forEach(function (v) {
          var row = el("tr");
          var cell = el("td");
          cell.appendChild(el("a", { href: prefix + "/review/" + v.slug + "/" + v.number }, v.slug));
          row.appendChild(cell);
          [String(v.number), v.submitter, v.submitted, v.revision_of ? "v" + v.revision_of : "(new case)"]
            .forEach(function (text) { row.appendChild(el("td", {}, text)); });
          body.appendChild(row);
        });
        if (!result.data.length) {
          var none = el("tr"); none.appendChild(el("td", { colspan: "5" }, "Nothing is waiting for review."));
          body.appendChild(none);
        }
        pending.hidden = false;
        say("review-status", result.data.length + " pending.");
      });
    }
  }

  // --- one submission: diff, report, decision -------------------------------------------------
  var item = document.querySelector("article.review-item");
  if (item) {
    var slug = item.dataset.slug, number = item.dataset.number;
    var base = "/submissions/" + encodeURIComponent(slug) + "/" + encodeURIComponent(number);
    if (!token()) { say("review-status", "Sign in as a curator to review this submission."); }
    else {
      api("GET", base).then(function (result) {
        if (result.status !== 200) { say("review-status", problem(result)); return; }
        var v = result.data.version, diff = result.data.diff;
        var info = document.getElementById("version-info");
        [["Status", v.status], ["Submitted by", v.submitter + ", " + v.submitted],
         ["Revises", v.revision_of ? "version " + v.revision_of : "nothing (a new case)"],
         ["Triples", String(v.triples)]].forEach(function (pair) {
          info.appendChild(el("dt", {}, pair[0])); info.appendChild(el("dd", {}, pair[1]));
        });
        var pane = document.getElementById("diff");
        [["Added", diff.added_turtle, "added"], ["Removed", diff.removed_turtle, "removed"]].forEach(function (part) {
          pane.appendChild(el("h3", {}, part[0]));
          var list = el("ol", { "class": "diff " + part[2] });
          (part[1] || "(nothing)").split("\n").forEach(function (line) {
            var li = el("li"); li.appendChild(el("code", {}, line)); list.appendChild(li);
          });
          pane.appendChild(list);
        });
        if (v.status === "pending") { document.getElementById("decide").hidden = false; }
        say("review-status", "Version " + v.number + " is " + v.status + ".");
        return api("GET", "/cases/" + encodeURIComponent(slug) + "/versions/" + encodeURIComponent(number) + "?format=ttl");
      }).then(function (record) {
        if (!record || record.status !== 200) { return; }
        return api("POST", "/validate", record.data, "text/turtle").then(function (report) {
          if (report.status === 200) { renderReport(report.data, document.getElementById("report")); }
        });
      });
      document.getElementById("accept").addEventListener("click", function () {
        api("POST", base + "/accept").then(function (result) {
          if (result.status !== 200) { say("review-status", problem(result)); return; }
          document.getElementById("decide").hidden = true;
          var status = document.getElementById("review-status");
          status.textContent = "Accepted: version " + result.data.number + " is published. ";
          status.appendChild(el("a", { href: prefix + "/case/" + slug }, "Open the case page"));
        });
      });
      document.getElementById("reject-form").addEventListener("submit", function (event) {
        event.preventDefault();
        var reason = document.getElementById("reason").value.trim();
        api("POST", base + "/reject", JSON.stringify({ reason: reason }), "application/json").then(function (result) {
          if (result.status !== 200) { say("review-status", problem(result)); return; }
          document.getElementById("decide").hidden = true;
          say("review-status", "Rejected: " + reason);
        });
      });
    }
  }

  // --- contribute: live validation, then submit -----------------------------------------------
  var form = document.getElementById("contribute-form");
  if (form) {
    var area = document.getElementById("c-text"), format = document.getElementById("c-format");
    var timer = null;
    var check = function () {
      var text = area.value;
      if (!text.trim()) { return; }
      api("POST", "/validate", text, format.value).then(function (result) {
        var container = document.getElementById("live-report");
        if (result.status === 200) {
          renderReport(result.data, container, document.getElementById("live-lines"), text);
        } else {
          container.textContent = "";
          container.appendChild(el("p", { "class": "finding violation" }, problem(result) +
            (result.data && result.data.line ? " (line " + result.data.line + ")" : "")));
        }
      });
    };
    area.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, 700);  // check once typing pauses
    });
    document.getElementById("c-check").addEventListener("click", check);
    document.getElementById("c-file").addEventListener("change", function (event) {
      var file = event.target.files[0];
      if (!file) { return; }
      file.text().then(function (text) { area.value = text; check(); });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!token()) { say("contribute-status", "Sign in first to submit."); return; }
      api("POST", "/submissions", area.value, format.value).then(function (result) {
        var status = document.getElementById("contribute-status");
        if (result.status === 201) {
          status.textContent = "Submitted: " + result.data.slug + " version " + result.data.number +
            " is pending review.";
        } else {
          status.textContent = problem(result);
          if (result.data && result.data.report) {
            renderReport(result.data.report, document.getElementById("live-report"),
                         document.getElementById("live-lines"), area.value);
          }
        }
      });
    });
  }

  if (!signIn && token()) {
    var link = document.querySelector("a.sign-in");
    if (link) { link.textContent = "Signed in"; }
  }
})();
