// The query page: YASGUI served by this server, talking only to this server's /sparql.
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  if (!root || typeof Yasgui === "undefined") {
    // The editor did not load: show the plain form instead.
    var form = document.querySelector("form.plain-query");
    if (form) { form.hidden = false; }
    return;
  }
  var endpoint = new URL(root.dataset.endpoint, window.location.href).href;
  var examples = JSON.parse(document.getElementById("example-queries").textContent);

  // No outside services: keep the bundled prefix list, drop the class and property
  // autocompleters (they ask lov.linkeddata.es), never call prefix.cc.
  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];
  Yasgui.Yasqe.defaults.prefixCcApi = null;

  var yasgui = new Yasgui(root, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: null,
    corsProxy: undefined,
    yasqe: { value: examples.length ? examples[0].query : "SELECT * WHERE { ?s ?p ?o } LIMIT 10" }
  });
  window.coprodYasgui = yasgui;

  var first = yasgui.getTab();
  if (first && root.dataset.query) {
    // Opened from a "this list as SPARQL" link: that query, not the first example.
    first.setQuery(root.dataset.query);
    first.setName("from the explorer");
  } else if (first && examples.length) {
    first.setQuery(examples[0].query);
    first.setName(examples[0].name);
  }

  // YASGUI's markup misses a few accessible names and roles; add them, and again whenever it
  // redraws (a new tab, a new result).
  function accessible() {
    root.querySelectorAll(".tabsList").forEach(function (list) {
      // a "tablist" whose last child is a button, not a tab: read it as a plain list of links
      list.removeAttribute("role");
      list.querySelectorAll("[role=tab], [aria-selected]").forEach(function (tab) {
        tab.removeAttribute("role");
        tab.removeAttribute("aria-selected");
      });
    });
    root.querySelectorAll(".tabsList input[type=text]").forEach(function (input) {
      input.setAttribute("aria-label", "Tab name");
    });
    root.querySelectorAll("input.autocomplete").forEach(function (input) {
      input.setAttribute("aria-label", "SPARQL endpoint");
    });
    root.querySelectorAll(".CodeMirror textarea").forEach(function (area) {
      area.setAttribute("aria-label", "SPARQL query");
    });
    root.querySelectorAll(".CodeMirror-scroll").forEach(function (region) {
      if (region.getAttribute("tabindex") !== "0") { region.setAttribute("tabindex", "0"); }
    });
  }
  accessible();
  new MutationObserver(accessible).observe(root, { childList: true, subtree: true });

  document.querySelectorAll("button.example").forEach(function (button) {
    button.addEventListener("click", function () {
      var example = examples[Number(button.dataset.index)];
      // Each example opens in its own tab (or goes back to it if it is already open).
      yasgui.addTab(true, {
        name: example.name,
        yasqe: { value: example.query },
        requestConfig: { endpoint: endpoint, method: "POST" }
      }, { avoidDuplicateTabs: true });
    });
  });
})();
