/*
 * Review queue: rows leave when someone else claims a document (or it is
 * decided) and new documents arrive, live. The server renders every row
 * (partials/queue_row.html); the consumer tells each event's `queues` for us.
 */
(function () {
  "use strict";

  const table = document.getElementById("queue");
  const body = table.tBodies[0];
  const queue = table.dataset.queue;
  const rowUrlTemplate = table.dataset.rowUrl;
  // Oldest first: a newcomer belongs at the end, which is on the last page;
  // with filters on, the server decides whether it matches.
  const appendsHere = table.dataset.lastPage === "true";
  const notice = document.getElementById("queue-notice");

  function announce(text) {
    notice.textContent = text;
    notice.hidden = false;
  }

  // The per-reason and per-type counts follow the rows this page adds and drops.
  function count(row, step) {
    const cells = [
      document.querySelector('#reason-counts [data-reason="' + row.dataset.reason + '"]'),
      document.querySelector('#type-counts [data-document-type="' + row.dataset.documentType + '"]'),
    ];
    cells.forEach((cell) => {
      if (cell) cell.textContent = String(Math.max(0, Number(cell.textContent) + step));
    });
  }

  // With the page's own filters (vendor, reason, type ...): the server answers
  // 404 for a document this page would not list.
  function rowUrl(id) {
    return rowUrlTemplate.replace("00000000-0000-0000-0000-000000000000", encodeURIComponent(id)) + window.location.search;
  }

  function showEmptyIfNeeded() {
    if (body.querySelector("tr[data-id]") || body.querySelector("tr.empty")) return;
    const empty = document.createElement("tr");
    empty.className = "empty";
    empty.innerHTML = '<td colspan="5">Nothing here right now. New documents appear by themselves.</td>';
    body.append(empty);
  }

  function insert(doc) {
    fetch(rowUrl(doc.id), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const holder = document.createElement("tbody");
        holder.innerHTML = html.trim();
        const row = holder.querySelector("tr");
        if (!row) return;
        const current = document.getElementById("doc-" + doc.id);
        if (current) {
          count(current, -1);
          count(row, 1);
          current.replaceWith(row);
          return;
        }
        count(row, 1);
        announce(doc.name + " is waiting in the queue.");
        const empty = body.querySelector("tr.empty");
        if (empty) empty.remove();
        body.append(row);
        row.classList.add("is-updated");
        window.setTimeout(() => row.classList.remove("is-updated"), 1600);
      })
      .catch(() => {
        /* Not in this queue for us (filtered out, or gone meanwhile). */
      });
  }

  function update(doc) {
    const existing = document.getElementById("doc-" + doc.id);
    const inQueue = Array.isArray(doc.queues) && doc.queues.includes(queue);
    if (existing && !inQueue) {
      existing.remove();
      count(existing, -1);
      announce(
        doc.status === "claimed" && doc.claimed_by
          ? doc.name + " was claimed by " + doc.claimed_by + "."
          : doc.name + " left the queue (" + doc.status_display.toLowerCase() + ")."
      );
      showEmptyIfNeeded();
    } else if (inQueue && (existing ? existing.dataset.status !== doc.status : appendsHere)) {
      insert(doc);
    } else if (inQueue && !existing) {
      announce("New documents arrived: see the last page.");
    }
  }

  window.VouchLive.start({
    // The status refresh has no queue membership: only the socket drives this page.
    ids: () => [],
    onDocument: (doc) => {
      if (doc.queues) update(doc);
    },
  });
})();
