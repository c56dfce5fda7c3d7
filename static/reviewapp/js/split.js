// The split page: each page's checkbox says "a new document starts here".
// This script keeps the part labels, the summary and the confirm button in
// step with the boxes, and adds keys: arrows move between pages, S splits at
// the page, M merges it into the document before, Ctrl+Enter confirms. The
// form works without it (the boxes are posted as they are).
(() => {
  "use strict";
  const form = document.getElementById("split-form");
  const list = document.getElementById("split-pages");
  if (!form || !list) return;
  const items = Array.from(list.querySelectorAll(".split-page"));
  const summary = document.getElementById("split-summary");
  const confirm = document.getElementById("split-confirm");
  const helpToggle = document.getElementById("split-help-toggle");
  const help = document.getElementById("split-help");

  const boxOf = (item) => item.querySelector("input[type=checkbox]");
  const starts = (item, index) => index === 0 || (boxOf(item) && boxOf(item).checked);

  function refresh() {
    const parts = [];
    items.forEach((item, index) => {
      if (starts(item, index)) parts.push([]);
      const number = Number(item.dataset.page);
      parts[parts.length - 1].push(number);
      const part = parts.length;
      item.classList.toggle("is-start", starts(item, index));
      item.classList.toggle("is-even", part % 2 === 0);
      const label = item.querySelector("[data-part-label]");
      if (label) {
        label.textContent = starts(item, index) ? `Document ${part}` : `continues document ${part}`;
      }
    });
    if (summary) {
      summary.replaceChildren(
        ...parts.map((pages, index) => {
          const span = document.createElement("span");
          const range = pages.length === 1 ? `page ${pages[0]}` : `pages ${pages[0]}–${pages[pages.length - 1]}`;
          span.textContent = `Document ${index + 1}: ${range}`;
          return span;
        }),
      );
    }
    if (confirm) {
      confirm.textContent = parts.length === 1
        ? "Confirm: one document"
        : `Confirm ${parts.length} documents`;
    }
  }

  function focusPage(index) {
    const item = items[Math.max(0, Math.min(items.length - 1, index))];
    const target = boxOf(item) || item;
    if (!boxOf(item)) item.tabIndex = -1;
    target.focus();
    item.scrollIntoView({ block: "nearest" });
  }

  function currentIndex() {
    return items.findIndex((item) => item.contains(document.activeElement));
  }

  list.addEventListener("change", refresh);
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement && event.target.type === "text") return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit(confirm || undefined);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const index = currentIndex();
    if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      event.preventDefault();
      focusPage(index + 1);
    } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      event.preventDefault();
      focusPage(index < 0 ? 0 : index - 1);
    } else if ((event.key === "s" || event.key === "m") && index > 0) {
      event.preventDefault();
      boxOf(items[index]).checked = event.key === "s";
      refresh();
    } else if (event.key === "?" && helpToggle) {
      helpToggle.click();
    }
  });
  if (helpToggle && help) {
    helpToggle.addEventListener("click", () => {
      help.hidden = !help.hidden;
      helpToggle.setAttribute("aria-expanded", String(!help.hidden));
    });
  }
  refresh();
})();
