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
