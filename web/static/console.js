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
    // enhance(root): run the hooks of root's [data-live] elements (content put in later)
    enhance(root) {
      root.querySelectorAll("[data-live]").forEach(function (element) {
        const hook = hooks[element.dataset.live];
        if (hook) { hook(element); }
      });
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

// My tasks: a submission's files sent with upload progress (the same multipart form, sent
// by XMLHttpRequest with the X-CSRF-Token header); the page the server answers replaces
// this one (its URL after the redirect, or the form again with the error).
(function () {
  const hc = window.HandoverConsole;
  hc.register("upload", function (form) {
    const box = form.querySelector(".upload-progress");
    const bar = form.querySelector("progress");
    const figure = form.querySelector(".upload-figure");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", hc.csrf());
      box.hidden = false;
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          const pct = Math.round((100 * e.loaded) / e.total);
          bar.value = pct;
          figure.textContent = form.dataset.uploading + " " + pct + " %";
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 200) {
          window.location.assign(JSON.parse(xhr.responseText).location);
          return;
        }
        const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        const main = page.querySelector("main");
        if (main) {
          document.querySelector("main").replaceWith(main);
          hc.enhance(main);
          const alert = main.querySelector("[role=alert]");
          if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
        }
      });
      xhr.addEventListener("error", function () {
        figure.textContent = form.dataset.failed;
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      });
      xhr.send(new FormData(form));
    });
  });
})();

// Signing in the browser: a non-extractable Ed25519 key made by WebCrypto, kept in
// IndexedDB for this principal, its public key registered for them (their own only); the
// statement fetched from the server, shown, signed, and sent with the form.
(function () {
  const hc = window.HandoverConsole;
  const DB = "handover-ledger-keys";

  function store() {
    return new Promise(function (resolve, reject) {
      const open = indexedDB.open(DB, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("keys"); };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
  }
  async function kept(principal) {
    const db = await store();
    return new Promise(function (resolve, reject) {
      const get = db.transaction("keys").objectStore("keys").get(principal);
      get.onsuccess = function () { resolve(get.result || null); };
      get.onerror = function () { reject(get.error); };
    });
  }
  async function keep(principal, record) {
    const db = await store();
    return new Promise(function (resolve, reject) {
      const tx = db.transaction("keys", "readwrite");
      tx.objectStore("keys").put(record, principal);
      tx.oncomplete = function () { resolve(); };
      tx.onerror = function () { reject(tx.error); };
    });
  }
  function base64(buffer) {
    return btoa(String.fromCharCode.apply(null, new Uint8Array(buffer)));
  }
  async function post(url, fields) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRF-Token": hc.csrf(),
                "Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams(fields)});
    if (!response.ok) { throw new Error(String(response.status)); }
    return response.json();
  }
  async function myKey(box) {
    const principal = box.dataset.principal;
    let record = await kept(principal);
    if (record) {  // a key revoked since (by its owner or an operator) signs nothing more
      const listed = await fetch(box.dataset.keyUrl, {credentials: "same-origin"});
      if (listed.ok && !(await listed.json()).keys.includes(record.keyId)) { record = null; }
    }
    if (!record) {
      const pair = await crypto.subtle.generateKey({name: "Ed25519"}, false, ["sign"]);
      const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
      const registered = await post(box.dataset.keyUrl, {public_key: base64(raw)});
      record = {keyId: registered.key_id, privateKey: pair.privateKey};
      await keep(principal, record);
    }
    return record;
  }
  async function ed25519Available() {
    try {
      await crypto.subtle.generateKey({name: "Ed25519"}, false, ["sign"]);
      return !!window.indexedDB;
    } catch (e) {
      return false;
    }
  }

  hc.register("sign", async function (box) {
    const form = box.closest("form");
    const status = box.querySelector(".sign-status");
    if (!window.crypto || !crypto.subtle || !(await ed25519Available())) {
      box.querySelector(".sign-unavailable").hidden = false;
      return;
    }
    box.querySelector(".sign-note").hidden = true;
    const show = box.querySelector(".sign-show");
    const signBox = box.querySelector(".sign-box");
    const shown = box.querySelector("pre.statement");
    show.hidden = false;
    let statement = null;
    show.addEventListener("click", async function () {
      try {
        status.textContent = box.dataset.working;
        const response = await fetch(box.dataset.statementUrl, {credentials: "same-origin"});
        if (!response.ok) { throw new Error(String(response.status)); }
        statement = (await response.json()).statement;
        shown.textContent = statement;
        signBox.hidden = false;
        status.textContent = "";
        shown.focus();
      } catch (e) {
        status.textContent = box.dataset.failed + " " + e.message;
      }
    });
    box.querySelector(".sign-now").addEventListener("click", async function () {
      try {
        status.textContent = box.dataset.working;
        const key = await myKey(box);
        const signature = await crypto.subtle.sign(
          {name: "Ed25519"}, key.privateKey, new TextEncoder().encode(statement));
        form.elements.key_id.value = key.keyId;
        form.elements.statement.value = statement;
        form.elements.signature.value = base64(signature);
        status.textContent = box.dataset.registered;
        form.submit();
      } catch (e) {
        status.textContent = box.dataset.failed + " " + e.message;
      }
    });
  });
})();
