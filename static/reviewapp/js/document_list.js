/*
 * Document list: rows follow their document's status live. The server renders
 * every row (partials/document_row.html); this script only fetches and swaps.
 */
(function () {
  "use strict";

  const table = document.getElementById("documents");
  const body = table.tBodies[0];
  const rowUrlTemplate = table.dataset.rowUrl;
  const onFirstPage = table.dataset.firstPage === "true";
  // Avoids fetching a row twice when the socket and a refresh report the same change.
  const inFlight = new Map();

  function rowUrl(id) {
    return rowUrlTemplate.replace("00000000-0000-0000-0000-000000000000", encodeURIComponent(id));
  }

  function fetchRow(id) {
    if (inFlight.has(id)) return inFlight.get(id);
    const request = fetch(rowUrl(id), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const holder = document.createElement("tbody");
        holder.innerHTML = html.trim();
        return holder.querySelector("tr");
      })
      .finally(() => inFlight.delete(id));
    inFlight.set(id, request);
    return request;
  }

  function flash(row) {
    row.classList.add("is-updated");
    window.setTimeout(() => row.classList.remove("is-updated"), 1600);
  }

  function update(doc) {
    const existing = document.getElementById("doc-" + doc.id);
    if (existing && existing.dataset.status === doc.status) return;
    // New documents belong at the top of page one; later pages would shift under the reader.
    if (!existing && !onFirstPage) return;
    fetchRow(doc.id)
      .then((row) => {
        if (!row) return;
        const current = document.getElementById("doc-" + doc.id);
        if (current) {
          current.replaceWith(row);
        } else {
          const empty = body.querySelector("tr.empty");
          if (empty) empty.remove();
          body.prepend(row);
        }
        flash(row);
      })
      .catch(() => {
        /* Gone or no longer visible to us: leave the table as it is. */
      });
  }

  window.VouchLive.start({
    ids: () => Array.from(body.querySelectorAll("tr[data-id]")).map((row) => row.dataset.id),
    onDocument: update,
  });
})();
