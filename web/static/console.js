// Handover Ledger console: progressive enhancement only; every page works without it.
// Page areas register hooks here (live updates via EventSource, upload progress,
// WebCrypto Ed25519 signing) keyed by data- attributes on their elements.
"use strict";
(function () {
  const hooks = {};
  window.HandoverConsole = {
    // register(name, fn): fn(element) runs for each element with data-live="name"
    register(name, fn) { hooks[name] = fn; },
    csrf() {
      const field = document.querySelector("input[name=csrf]");
      return field ? field.value : "";
    },
  };
  document.addEventListener("DOMContentLoaded", function () {
    // On a phone, a filter form nobody has used yet starts folded (open without JS).
    if (window.matchMedia("(max-width: 719px)").matches) {
      document.querySelectorAll("details[data-narrow-closed=yes]").forEach(function (box) {
        box.open = false;
      });
    }
    document.querySelectorAll("[data-live]").forEach(function (element) {
      const hook = hooks[element.dataset.live];
      if (hook) { hook(element); }
    });
  });
})();
