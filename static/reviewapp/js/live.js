/*
 * Live document status, shared by the upload, list and review pages.
 *
 *   VouchLive.start({ ids: () => [...public ids on the page], onDocument: (doc) => {...} })
 *
 * `doc` is the server's status payload: {id, name, status, status_display,
 * failure_reason, pages}. Events come over the websocket; while it is down, and
 * once right after it comes back (events sent in between are lost), the page
 * asks /documents/status/ for the ids it shows instead.
 */
(function () {
  "use strict";

  const POLL_MS = 5000;
  const MAX_BACKOFF_MS = 30000;
  // The consumer closes with this code for a logged-out user: retrying cannot help.
  const UNAUTHENTICATED = 4401;

  let options = null;
  let socket = null;
  let attempts = 0;
  let pollTimer = null;
  let reconnectTimer = null;

  function indicator(state, label) {
    const element = document.getElementById("live-indicator");
    if (!element) return;
    element.hidden = false;
    element.dataset.state = state;
    element.querySelector(".live-label").textContent = label;
    element.title = {
      live: "Statuses update by themselves",
      reconnecting: "Connection lost; checking every few seconds while reconnecting",
      offline: "Live updates stopped: reload the page",
    }[state] || "";
  }

  function dispatch(payload) {
    try {
      options.onDocument(payload);
    } catch (error) {
      console.error("live: page callback failed", error);
    }
  }

  function refresh() {
    const ids = options.ids().filter(Boolean);
    if (!ids.length) return Promise.resolve();
    const query = ids.map((id) => "id=" + encodeURIComponent(id)).join("&");
    return fetch(document.body.dataset.statusUrl + "?" + query, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((body) => body.documents.forEach(dispatch))
      .catch(() => {
        /* The next poll or the socket will catch up. */
      });
  }

  function startPolling() {
    if (pollTimer === null) pollTimer = window.setInterval(refresh, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer !== null) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter, so a restarted server is not hit by every
    // open tab in the same second.
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts += 1;
    window.clearTimeout(reconnectTimer);
    reconnectTimer = window.setTimeout(connect, delay);
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    let opened = false;
    try {
      socket = new WebSocket(scheme + window.location.host + "/ws/documents/");
    } catch (error) {
      indicator("reconnecting", "Reconnecting…");
      startPolling();
      scheduleReconnect();
      return;
    }
    socket.addEventListener("open", () => {
      opened = true;
      attempts = 0;
      stopPolling();
      indicator("live", "Live");
      refresh();
    });
    socket.addEventListener("message", (event) => {
      let payload;
      try {
        payload = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (payload && payload.type === "document") dispatch(payload);
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      if (event.code === UNAUTHENTICATED) {
        stopPolling();
        indicator("offline", "Offline");
        return;
      }
      indicator("reconnecting", "Reconnecting…");
      startPolling();
      if (opened) refresh();
      scheduleReconnect();
    });
  }

  window.VouchLive = {
    start(pageOptions) {
      if (options) throw new Error("VouchLive.start called twice");
      options = pageOptions;
      indicator("connecting", "Connecting…");
      connect();
    },
    refresh() {
      return options ? refresh() : Promise.resolve();
    },
  };
})();
