// Active review time on the review page: seconds with the page visible and the
// person active (an input in the last IDLE_MS), idle excluded, in total and per
// field (the field whose row holds the focus). Reports are cumulative for this
// page view, so the server keeps the largest and a lost beacon loses nothing.
(function () {
  "use strict";
  const config = document.getElementById("review-time");
  if (!config) return;
  const IDLE_MS = 60000;
  const TICK_MS = 1000;
  const SEND_EVERY_MS = 15000;
  // A tick longer than this (a sleeping laptop, a throttled tab) counts as idle.
  const MAX_TICK_MS = 2500;

  let active = 0;
  const fields = {};
  let lastInput = performance.now();
  let lastTick = performance.now();
  let lastSent = 0;
  let sentActive = -1;

  function markInput() { lastInput = performance.now(); }
  ["mousemove", "mousedown", "keydown", "wheel", "scroll", "touchstart", "focusin"].forEach(function (name) {
    window.addEventListener(name, markInput, { passive: true, capture: true });
  });

  function focusedField() {
    const focused = document.activeElement;
    const row = focused && focused.closest ? focused.closest("[data-field]") : null;
    return row ? row.dataset.field : null;
  }

  function isActive(now) {
    return document.visibilityState === "visible" && now - lastInput <= IDLE_MS;
  }

  function body() {
    const form = new FormData();
    form.append("csrfmiddlewaretoken", config.dataset.csrf);
    form.append("token", config.dataset.token);
    form.append("active_seconds", active.toFixed(1));
    form.append("field_seconds", JSON.stringify(fields));
    return form;
  }

  function send(finalReport) {
    if (active === sentActive) return;
    sentActive = active;
    lastSent = performance.now();
    if (finalReport && navigator.sendBeacon) {
      navigator.sendBeacon(config.dataset.url, body());
      return;
    }
    fetch(config.dataset.url, { method: "POST", body: body(), credentials: "same-origin", keepalive: true })
      .catch(function () { sentActive = -1; });
  }

  setInterval(function () {
    const now = performance.now();
    const step = now - lastTick;
    lastTick = now;
    if (step <= MAX_TICK_MS && isActive(now)) {
      active += step / 1000;
      const name = focusedField();
      if (name) fields[name] = (fields[name] || 0) + step / 1000;
    }
    if (now - lastSent >= SEND_EVERY_MS) send(false);
  }, TICK_MS);

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") send(true);
  });
  window.addEventListener("pagehide", function () { send(true); });
  // Tests and the dashboard's browser check read the running figure.
  window.vouchReviewTime = function () { return { active: active, fields: Object.assign({}, fields) }; };
})();
