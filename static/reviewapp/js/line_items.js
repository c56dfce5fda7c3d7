/*
 * Review page, line-item grid: edit cells (Enter or leaving a changed cell
 * saves, Esc puts the saved value back), add, split and delete rows. Each
 * change answers with the grid and the checks re-rendered by the server; the
 * per-row quantity × unit price check also updates live while typing.
 */
(function () {
  "use strict";

  const SECTION_ID = "line-items";

  function section() {
    return document.getElementById(SECTION_ID);
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // "1.234,50", "1,234.50", "13.5" and "13,5" all read as numbers.
  function parseNumber(text) {
    let value = String(text).replace(/[\s\u00a0'€$£%]/g, "");
    if (!value) return null;
    const lastDot = value.lastIndexOf(".");
    const lastComma = value.lastIndexOf(",");
    if (lastDot >= 0 && lastComma >= 0) {
      const decimal = lastDot > lastComma ? "." : ",";
      const grouping = decimal === "." ? "," : ".";
      value = value.split(grouping).join("").replace(decimal, ".");
    } else if (lastComma >= 0) {
      const tail = value.length - lastComma - 1;
      value = tail === 3 && value.split(",").length === 2 && !value.startsWith("0,") ? value.replace(",", "") : value.split(",").join(".");
    }
    const number = Number(value);
    return Number.isFinite(number) ? number : null;
  }

  function cell(row, column) {
    return row.querySelector("input[data-column=" + column + "]");
  }

  // The same check the server makes: to the cent, or 0.1 % on large lines.
  function checkRow(row) {
    const quantity = parseNumber(cell(row, "quantity").value);
    const price = parseNumber(cell(row, "unit_price").value);
    const amount = parseNumber(cell(row, "amount").value);
    const target = row.querySelector("[data-role=check]");
    if (quantity === null || price === null || amount === null) {
      row.classList.remove("has-warning");
      target.replaceChildren();
      return;
    }
    const expected = quantity * price;
    const ok = Math.abs(expected - amount) <= Math.max(0.011, Math.abs(amount) * 0.001);
    row.classList.toggle("has-warning", !ok);
    const note = document.createElement("span");
    note.className = ok ? "line-ok" : "line-warning";
    note.textContent = ok ? "✓" : quantity + " × " + price + " = " + expected.toFixed(2) + ", not " + amount.toFixed(2);
    target.replaceChildren(note);
  }

  function showError(message) {
    const target = section().querySelector("[data-role=error]");
    if (!target) return;
    target.textContent = message;
    target.hidden = !message;
  }

  // Put focus back where it was after the grid is re-rendered.
  function refocus(index, column) {
    const rows = section().querySelectorAll("tr.line-row");
    if (!rows.length) {
      const add = section().querySelector("[data-line-action=add]");
      if (add) add.focus();
      return;
    }
    const row = rows[Math.min(index, rows.length - 1)];
    const target = column ? cell(row, column) : row.querySelector("input");
    if (target) {
      target.focus();
      if (target.select) target.select();
    }
  }

  function post(url, data, index, column) {
    const body = new URLSearchParams(data);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: body,
    })
      .then((response) => response.json().then((payload) => ({ response, payload })))
      .then(({ response, payload }) => {
        if (!response.ok) {
          showError(payload.error || "The change could not be saved (" + response.status + ").");
          return false;
        }
        section().outerHTML = payload.grid_html;
        // review.js replaces the checks panel and each field's messages.
        document.dispatchEvent(new CustomEvent("vouch:issues", { detail: payload }));
        refocus(index, column);
        return true;
      })
      .catch(() => {
        showError("The change could not be saved: the server did not answer.");
        return false;
      });
  }

  function save(input) {
    if (input.value === input.dataset.saved || input.dataset.saving) return;
    const row = input.closest("tr.line-row");
    input.dataset.saving = "true";
    post(row.dataset.url, { column: input.dataset.column, value: input.value }, Number(row.dataset.index), input.dataset.column).then((saved) => {
      if (!saved) delete input.dataset.saving;
    });
  }

  function rowAction(button) {
    const action = button.dataset.lineAction;
    const grid = section();
    if (action === "add") {
      const rows = grid.querySelectorAll("tr.line-row");
      post(grid.dataset.addUrl, {}, rows.length, "description");
      return;
    }
    const row = button.closest("tr.line-row");
    const index = Number(row.dataset.index);
    if (action === "split") {
      post(row.dataset.splitUrl, {}, index + 1, "quantity");
    } else if (action === "delete") {
      const label = row.querySelector("th").textContent.trim();
      if (window.confirm("Delete line " + label + "? This is recorded in the history.")) {
        post(row.dataset.deleteUrl, {}, index, "description");
      }
    }
  }

  document.addEventListener("input", (event) => {
    const input = event.target.closest("#" + SECTION_ID + " input[data-column]");
    if (input) checkRow(input.closest("tr.line-row"));
  });

  document.addEventListener("change", (event) => {
    const input = event.target.closest("#" + SECTION_ID + " input[data-column]");
    if (input && input.isConnected) save(input);
  });

  document.addEventListener("keydown", (event) => {
    const input = event.target.closest && event.target.closest("#" + SECTION_ID + " input[data-column]");
    if (!input) return;
    if (event.key === "Enter") {
      event.preventDefault();
      save(input);
    } else if (event.key === "Escape") {
      event.preventDefault();
      input.value = input.dataset.saved;
      checkRow(input.closest("tr.line-row"));
      showError("");
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("#" + SECTION_ID + " [data-line-action]");
    if (button) rowAction(button);
  });
})();
