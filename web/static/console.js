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
  // Live pages (data-live="board": the HR dashboard; "departure": a case) follow their
  // Server-Sent Events (data-events). When the board moves past what the page shows
  // (data-position), the page is read again and each data-part replaced, except one the
  // reader is typing in; open <details> stay open.
  function replaceParts(root, fresh) {
    const busy = document.activeElement;
    const parts = Array.from(root.querySelectorAll("[data-part]"));
    parts.forEach(function (part) {
      const next = fresh.querySelector('[data-part="' + part.dataset.part + '"]');
      if (busy && busy !== document.body && part.contains(busy)) { return; }
      if (!next) { part.remove(); return; }
      const opened = Array.from(part.querySelectorAll("details[id]"))
        .filter(function (box) { return box.open; }).map(function (box) { return box.id; });
      const copy = document.importNode(next, true);
      opened.forEach(function (id) {
        const box = copy.querySelector("#" + CSS.escape(id));
        if (box) { box.open = true; }
      });
      part.replaceWith(copy);
    });
  }
  function refresh(root) {
    return fetch(window.location.href, {credentials: "same-origin", headers: {Accept: "text/html"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (text) {
        const fresh = new DOMParser().parseFromString(text, "text/html");
        replaceParts(root, fresh);
        const status = root.querySelector("[data-live-status]");
        if (status) { status.textContent = status.dataset.updated || ""; }
        root.dispatchEvent(new CustomEvent("live-updated", {bubbles: true}));
      });
  }
  function follow(root) {
    if (!root.dataset.events || !window.EventSource) { return; }
    let known = Number(root.dataset.position || "0");
    let running = false;
    let again = false;
    function changed(event) {
      const at = Number(event.lastEventId || "0");
      if (at && at <= known) { return; }
      known = Math.max(known, at);
      if (running) { again = true; return; }
      running = true;
      refresh(root).catch(function () { /* the next change tries again */ })
        .finally(function () {
          running = false;
          if (again) { again = false; changed({lastEventId: ""}); }
        });
    }
    const source = new EventSource(root.dataset.events);
    source.addEventListener("changed", changed);
    source.addEventListener("board", changed);
    window.addEventListener("pagehide", function () { source.close(); });
  }
  hooks.board = follow;
  hooks.departure = follow;

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
