// The explorer without full reloads: facet links, pages and the search form fetch the next
// state's HTML and swap the results in, keeping the URL (and the back button) in step.
// Without this script every link and the form work as ordinary page loads.
(function () {
  "use strict";
  var root = document.querySelector(".explorer");
  if (!root || !window.fetch || !window.history.pushState) { return; }

  function load(url, push) {
    root.setAttribute("aria-busy", "true");
    fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector(".explorer");
        if (!fresh) { window.location.href = url; return; }
        root.innerHTML = fresh.innerHTML;
        var q = doc.getElementById("q"), here = document.getElementById("q");
        if (q && here) { here.value = q.value; }
        var hidden = doc.querySelector("form.search"), form = document.querySelector("form.search");
        if (hidden && form) { form.innerHTML = hidden.innerHTML; }
        if (push) { window.history.pushState({}, "", url); }
        root.removeAttribute("aria-busy");
        var status = root.querySelector("[role=status]");
        if (status) { status.focus({ preventScroll: true }); }
      })
      .catch(function () { window.location.href = url; });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a") : null;
    // only the explorer's own links (facets, filters, pages, chart cells), not the site's
    if (link && !root.contains(link)) { return; }
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || link.hasAttribute("download")) { return; }
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname !== window.location.pathname) { return; }
    if (url.searchParams.has("format")) { return; }
    event.preventDefault();
    load(url.href, true);
  });
  var form = document.querySelector("form.search");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = new URL(form.action, window.location.href);
      new FormData(form).forEach(function (value, key) { if (value) { url.searchParams.append(key, value); } });
      load(url.href, true);
    });
  }
  window.addEventListener("popstate", function () { load(window.location.href, false); });
})();
