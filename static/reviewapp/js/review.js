/*
 * Review page: page image with the OCR lines drawn over it, and the extracted
 * fields beside it. Everything it needs is in the server-rendered markup
 * (data-* attributes); it posts corrections to each field's form action.
 */
(function () {
  "use strict";

  const ZOOM_STEP = 1.25;
  const MIN_SCALE = 0.1;
  const MAX_SCALE = 5;
  // Read (and possibly already under review) or failed: the pipeline is done.
  const FINISHED = new Set(["ready", "failed", "claimed", "escalated", "approved", "rejected"]);

  const review = document.getElementById("review");
  const documentId = review.dataset.id;
  const viewport = document.getElementById("viewport");
  const figures = Array.from(review.querySelectorAll("figure.page"));
  const fieldList = document.getElementById("fields");
  const fields = Array.from(fieldList.querySelectorAll("li.field"));
  const hint = document.getElementById("viewer-hint");
  const hintText = hint ? hint.textContent : "";

  let pageIndex = 0;
  // "width" and "page" refit when the window resizes; a number is a fixed scale.
  let zoomMode = "width";
  let scale = 1;
  let selected = null;

  /* ---------- pages and zoom ---------- */

  function currentFigure() {
    return figures[pageIndex];
  }

  function fitScale(mode, figure) {
    const width = Number(figure.dataset.width);
    const height = Number(figure.dataset.height);
    const style = window.getComputedStyle(viewport);
    const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const byWidth = (viewport.clientWidth - padX) / width;
    const byHeight = (viewport.clientHeight - padY) / height;
    return mode === "page" ? Math.min(byWidth, byHeight) : byWidth;
  }

  function applyZoom() {
    const figure = currentFigure();
    if (!figure) return;
    scale = typeof zoomMode === "number" ? zoomMode : fitScale(zoomMode, figure);
    scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
    figure.querySelector(".page-canvas").style.width = Math.round(Number(figure.dataset.width) * scale) + "px";
    document.getElementById("zoom-level").textContent = Math.round(scale * 100) + "%";
  }

  function zoomBy(factor) {
    // Keep the point at the middle of the viewport in the middle after zooming.
    const centreX = (viewport.scrollLeft + viewport.clientWidth / 2) / viewport.scrollWidth;
    const centreY = (viewport.scrollTop + viewport.clientHeight / 2) / viewport.scrollHeight;
    zoomMode = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale * factor));
    applyZoom();
    viewport.scrollLeft = centreX * viewport.scrollWidth - viewport.clientWidth / 2;
    viewport.scrollTop = centreY * viewport.scrollHeight - viewport.clientHeight / 2;
  }

  function showPage(index) {
    if (index < 0 || index >= figures.length || (index === pageIndex && !figures[index].hidden)) return;
    pageIndex = index;
    figures.forEach((figure, position) => {
      figure.hidden = position !== index;
    });
    review.querySelector("[data-role=page-number]").textContent = String(index + 1);
    review.querySelector("[data-action=prev-page]").disabled = index === 0;
    review.querySelector("[data-action=next-page]").disabled = index === figures.length - 1;
    applyZoom();
    viewport.scrollTop = 0;
  }

  function showPageNumber(number) {
    const index = figures.findIndex((figure) => figure.dataset.page === String(number));
    if (index >= 0) showPage(index);
  }

  const actions = {
    "prev-page": () => showPage(pageIndex - 1),
    "next-page": () => showPage(pageIndex + 1),
    "zoom-in": () => zoomBy(ZOOM_STEP),
    "zoom-out": () => zoomBy(1 / ZOOM_STEP),
    "fit-width": () => {
      zoomMode = "width";
      applyZoom();
    },
    "fit-page": () => {
      zoomMode = "page";
      applyZoom();
    },
  };

  /* ---------- OCR lines ---------- */

  function showTip(polygon) {
    const canvas = polygon.closest(".page-canvas");
    const tip = canvas.querySelector(".line-tip");
    const bounds = canvas.getBoundingClientRect();
    const box = polygon.getBoundingClientRect();
    tip.textContent = polygon.dataset.text;
    tip.hidden = false;
    // Above the line, clamped to the canvas so it never hides off-screen.
    tip.style.left = Math.max(0, Math.min(box.left - bounds.left, bounds.width - tip.offsetWidth)) + "px";
    tip.style.top = Math.max(0, box.top - bounds.top - tip.offsetHeight - 6) + "px";
    if (hint) hint.textContent = "“" + polygon.dataset.text + "” · confidence " + polygon.dataset.confidence;
  }

  function hideTip(polygon) {
    const tip = polygon.closest(".page-canvas").querySelector(".line-tip");
    tip.hidden = true;
    if (hint) hint.textContent = hintText;
  }

  /* ---------- filling a field from the page (click, word, drawn box, keys) ---------- */

  // Word boxes come from the server (selectors.review_page, ocr_evidence):
  // each line's box cut in proportion to its characters, as [text, x0, y0, x1, y1].
  function wordsOf(polygon) {
    return JSON.parse(polygon.dataset.words || "[]").map(([text, x0, y0, x1, y1]) => ({
      text: text,
      box: [x0, y0, x1, y1],
    }));
  }

  function boxOf(polygon) {
    return polygon.dataset.box.split(",").map(Number);
  }

  // A point on the page image, in page pixels, from a mouse event.
  function pagePoint(svg, event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }

  function centre(box) {
    return [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
  }

  // Top to bottom by rows, left to right within a row (as ocr_evidence.in_reading_order).
  function inReadingOrder(words) {
    let remaining = words.slice().sort((a, b) => centre(a.box)[1] - centre(b.box)[1] || a.box[0] - b.box[0]);
    const ordered = [];
    while (remaining.length) {
      const first = remaining[0];
      const row = remaining.filter((word) => centre(word.box)[1] >= first.box[1] && centre(word.box)[1] <= first.box[3]);
      ordered.push(...row.slice().sort((a, b) => a.box[0] - b.box[0]));
      remaining = remaining.filter((word) => !row.includes(word));
    }
    return ordered;
  }

  function fill(text, source, pageNumber, box) {
    if (!selected) {
      if (hint) hint.textContent = "Select a field first, then click the text to use for it.";
      return;
    }
    if (!editorOf(selected) || review.dataset.canWrite !== "true") return;
    openEditor(selected, text);
    const form = editorOf(selected);
    form.elements.source.value = source;
    form.elements.evidence_page.value = String(pageNumber);
    form.elements.evidence_box.value = box.map(Math.round).join(",");
    const status = document.getElementById("fields-status");
    if (status) status.textContent = "Filled from the page: " + text;
  }

  function pageNumberOf(element) {
    return Number(element.closest("figure.page").dataset.page);
  }

  function useLine(polygon, event) {
    const page = pageNumberOf(polygon);
    if (event && (event.altKey || event.shiftKey)) {
      // Alt- or Shift-click: just the word under the pointer.
      const point = pagePoint(polygon.ownerSVGElement, event);
      const words = wordsOf(polygon);
      if (!words.length) return;
      const distance = (word) => (point.x < word.box[0] ? word.box[0] - point.x : point.x > word.box[2] ? point.x - word.box[2] : 0);
      const word = words.reduce((best, candidate) => (distance(candidate) < distance(best) ? candidate : best));
      fill(word.text, "clicked_word", page, word.box);
      return;
    }
    // A name or an address is offered as the pipeline reads one, with the
    // spaces OCR dropped put back ("JALANBESAR" -> "JALAN BESAR").
    const text = (selected && selected.dataset.respaced === "true" && polygon.dataset.respaced) || polygon.dataset.text;
    fill(text, "clicked_line", page, boxOf(polygon));
  }

  function useDrawnBox(figure, box) {
    const inside = [];
    figure.querySelectorAll("polygon.ocr-line").forEach((polygon) => {
      wordsOf(polygon).forEach((word) => {
        const [x, y] = centre(word.box);
        if (x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3]) inside.push(word);
      });
    });
    if (!inside.length) {
      if (hint) hint.textContent = "No text was read inside that box: type the value instead.";
      return;
    }
    fill(
      inReadingOrder(inside)
        .map((word) => word.text)
        .join(" "),
      "drawn_box",
      Number(figure.dataset.page),
      box
    );
  }

  // Dragging on the image draws a box (with a field selected); a short drag is a click.
  const DRAG_THRESHOLD = 4;
  let drawing = null;
  let suppressClick = false;

  function startDrawing(event) {
    if (event.button !== 0 || !selected || review.dataset.canWrite !== "true") return;
    const canvas = event.target.closest(".page-canvas");
    if (!canvas) return;
    const svg = canvas.querySelector("svg.overlay");
    event.preventDefault();
    drawing = { svg: svg, rect: svg.querySelector(".draw-box"), start: pagePoint(svg, event), x: event.clientX, y: event.clientY, moved: false };
  }

  function drawnBox(start, end) {
    return [Math.min(start.x, end.x), Math.min(start.y, end.y), Math.max(start.x, end.x), Math.max(start.y, end.y)];
  }

  function moveDrawing(event) {
    if (!drawing) return;
    if (!drawing.moved && Math.hypot(event.clientX - drawing.x, event.clientY - drawing.y) < DRAG_THRESHOLD) return;
    drawing.moved = true;
    const [x0, y0, x1, y1] = drawnBox(drawing.start, pagePoint(drawing.svg, event));
    drawing.rect.setAttribute("x", String(x0));
    drawing.rect.setAttribute("y", String(y0));
    drawing.rect.setAttribute("width", String(x1 - x0));
    drawing.rect.setAttribute("height", String(y1 - y0));
    drawing.rect.setAttribute("visibility", "visible");
  }

  function endDrawing(event) {
    if (!drawing) return;
    const finished = drawing;
    drawing = null;
    if (!finished.moved) return;
    const box = drawnBox(finished.start, pagePoint(finished.svg, event));
    // The click that follows this mouseup (if any) ends the drag, not a line click.
    suppressClick = true;
    window.setTimeout(() => (suppressClick = false), 0);
    window.setTimeout(() => finished.rect.setAttribute("visibility", "hidden"), 600);
    useDrawnBox(finished.svg.closest("figure.page"), box);
  }

  // Keyboard: l / L step through the lines nearest the selected field, u takes one.
  let activeLine = null;

  function linesNear(field) {
    const figure = currentFigure();
    if (!figure) return [];
    const lines = Array.from(figure.querySelectorAll("polygon.ocr-line"));
    if (!field || !field.dataset.box || field.dataset.page !== figure.dataset.page) return lines;
    const [fx, fy] = centre(field.dataset.box.split(",").map(Number));
    const distance = (polygon) => {
      const [x, y] = centre(boxOf(polygon));
      return Math.hypot(x - fx, (y - fy) * 2); // rows matter more than columns
    };
    return lines.sort((a, b) => distance(a) - distance(b));
  }

  function stepLine(step) {
    const lines = linesNear(selected);
    if (!lines.length) return;
    const index = activeLine ? lines.indexOf(activeLine) : -1;
    const next = lines[(index + step + lines.length) % lines.length];
    if (activeLine) activeLine.classList.remove("is-active");
    activeLine = next;
    next.classList.add("is-active");
    showTip(next);
    const status = document.getElementById("fields-status");
    if (status) status.textContent = "Line: " + next.dataset.text + ". Press u to use it.";
  }

  function takeActiveLine() {
    if (!activeLine || activeLine.closest("figure.page").hidden) return;
    const line = activeLine;
    activeLine.classList.remove("is-active");
    activeLine = null;
    hideTip(line);
    useLine(line, null);
  }

  /* ---------- fields ---------- */

  function highlight(field) {
    figures.forEach((figure) => {
      figure.querySelector(".field-box").setAttribute("visibility", "hidden");
    });
    if (!field.dataset.box || !field.dataset.page) return;
    showPageNumber(field.dataset.page);
    const [x0, y0, x1, y1] = field.dataset.box.split(",").map(Number);
    const rect = currentFigure().querySelector(".field-box");
    // A few pixels of margin so the outline does not cover the text it marks.
    const margin = 4;
    rect.setAttribute("x", String(x0 - margin));
    rect.setAttribute("y", String(y0 - margin));
    rect.setAttribute("width", String(x1 - x0 + 2 * margin));
    rect.setAttribute("height", String(y1 - y0 + 2 * margin));
    rect.setAttribute("visibility", "visible");
    const target = rect.getBoundingClientRect();
    const frame = viewport.getBoundingClientRect();
    viewport.scrollBy({
      top: target.top - frame.top - (frame.height - target.height) / 2,
      left: target.left - frame.left - (frame.width - target.width) / 2,
      behavior: "smooth",
    });
  }

  function select(field) {
    if (selected === field) return;
    if (selected) {
      selected.classList.remove("is-selected");
      selected.removeAttribute("aria-current");
    }
    selected = field;
    field.classList.add("is-selected");
    field.setAttribute("aria-current", "true");
    if (figures.length) highlight(field);
  }

  function editorOf(field) {
    return field.querySelector("form.field-edit");
  }

  function openEditor(field, value) {
    const form = editorOf(field);
    if (!form || review.dataset.canWrite !== "true") return;
    select(field);
    const input = form.elements.value;
    form.hidden = false;
    field.classList.add("is-editing");
    input.value = value === undefined ? input.defaultValue : value;
    // Typed unless fill() says it came from the page.
    form.elements.source.value = "typed";
    form.elements.evidence_page.value = "";
    form.elements.evidence_box.value = "";
    input.focus();
    input.select();
  }

  function closeEditor(field) {
    const form = editorOf(field);
    if (!form) return;
    form.hidden = true;
    form.elements.value.value = form.elements.value.defaultValue;
    form.querySelector(".field-error").hidden = true;
    field.classList.remove("is-editing");
    field.focus();
  }

  function errorText(body, status) {
    if (body && typeof body.error === "string") return body.error;
    if (body && body.error && typeof body.error === "object") {
      return Object.values(body.error)
        .flat()
        .map((error) => error.message || String(error))
        .join(" ");
    }
    return "Could not save (" + status + "). Try again.";
  }

  function showSaved(field, payload) {
    const form = editorOf(field);
    const value = field.querySelector("[data-role=value]");
    if (payload.value) {
      value.textContent = payload.value;
    } else {
      const absent = payload.set_by === "human" ? "Not on this document" : "Not found";
      value.innerHTML = '<span class="empty">' + absent + "</span>";
    }
    // A masked value is never put back into the input: the person types it anew.
    form.elements.value.defaultValue = field.dataset.sensitive ? "" : payload.value;
    if (payload.set_by === "human") {
      // field_correct stores a person's value with confidence 1.
      field.classList.add("is-human");
      field.querySelector("[data-role=set-by]").hidden = false;
      const confidence = field.querySelector("[data-role=confidence]");
      confidence.className = "confidence confidence-high";
      confidence.title = "Confidence 1.00";
      confidence.innerHTML = '<span class="visually-hidden">confidence </span>1.00';
    }
    if (payload.issues_html !== undefined) showIssues(payload);
    if (typeof payload.matches_read_value === "boolean") {
      let note = field.querySelector("[data-role=masked-note]");
      if (!note) {
        note = document.createElement("p");
        note.className = "masked-note small muted";
        note.dataset.role = "masked-note";
        value.after(note);
      }
      note.setAttribute("role", "status");
      note.textContent = payload.matches_read_value
        ? "Masked · what you typed matches what was read"
        : "Masked · what you typed differs from what was read";
    }
    closeEditor(field);
    field.classList.add("is-saved");
    window.setTimeout(() => field.classList.remove("is-saved"), 1600);
  }

  // A correction re-runs the checks: replace the list and each field's messages.
  function showIssues(payload) {
    const panel = document.getElementById("validation-issues");
    if (panel) panel.outerHTML = payload.issues_html;
    fields.forEach((item) => {
      const list = item.querySelector("[data-role=issues]");
      const found = payload.field_issues[item.dataset.field] || [];
      list.replaceChildren(
        ...found.map((issue) => {
          const entry = document.createElement("li");
          entry.className = "field-issue field-issue-" + issue.severity;
          entry.textContent = issue.message;
          return entry;
        })
      );
      list.hidden = found.length === 0;
      item.classList.toggle("has-issues", found.length > 0);
    });
  }

  function save(field) {
    const form = editorOf(field);
    const error = form.querySelector(".field-error");
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => (button.disabled = true));
    error.hidden = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
    })
      .then((response) =>
        response
          .json()
          .catch(() => null)
          .then((body) => {
            if (!response.ok) throw new Error(errorText(body, response.status));
            showSaved(field, body);
            field.dataset.flagged = String(!body.value);
            field.classList.toggle("is-flagged", !body.value);
            // The first correction claims the document: show the claimant's actions.
            if (review.dataset.claimedByMe !== "true") refreshActions();
          })
      )
      .catch((problem) => {
        error.textContent = problem.message || "Could not save. Try again.";
        error.hidden = false;
        form.elements.value.focus();
      })
      .finally(() => buttons.forEach((button) => (button.disabled = false)));
  }

  function confirmField(field, thenNext) {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]");
    const status = document.getElementById("fields-status");
    if (!field.dataset.confirmUrl || !token || review.dataset.canWrite !== "true") return;
    fetch(field.dataset.confirmUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token.value },
    })
      .then((response) =>
        response
          .json()
          .catch(() => null)
          .then((body) => {
            if (!response.ok) throw new Error(errorText(body, response.status));
            showSaved(field, body);
            field.dataset.flagged = "false";
            field.classList.remove("is-flagged");
            const label = field.querySelector(".field-label").textContent;
            const said = body.value ? label + " confirmed." : label + " marked not on this document.";
            status.textContent = said;
            showNote(field, said, false);
            // The claim may be new, and Approve appears once nothing flagged
            // is left unconfirmed: the actions are fetched again either way.
            refreshActions();
            if (thenNext) nextFlagged();
          })
      )
      .catch((problem) => {
        const said = problem.message || "Could not confirm. Try again.";
        status.textContent = said;
        showNote(field, said, true);
      });
  }

  // A visible line under the field (the live region alone reaches only
  // screen readers): what `y` did, or why it could not.
  function showNote(field, text, isError) {
    const note = field.querySelector("[data-role=note]");
    if (!note) return;
    note.textContent = text;
    note.classList.toggle("is-error", isError);
    note.hidden = false;
  }

  function moveFocus(field, step) {
    const index = fields.indexOf(field);
    const target = fields[Math.min(fields.length - 1, Math.max(0, index + step))];
    target.focus();
  }

  /* ---------- review actions, reveal and shortcuts ---------- */

  function refreshActions() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        ["review-actions", "document-status", "claim-holder", "escalation"].forEach((id) => {
          const current = document.getElementById(id);
          const replacement = fresh.getElementById(id);
          if (current && replacement) current.replaceWith(document.importNode(replacement, true));
          else if (current) current.remove();
          else if (replacement && id === "claim-holder") {
            document.querySelector(".review-title .meta").append(document.importNode(replacement, true));
          }
        });
        const freshReview = fresh.getElementById("review");
        if (freshReview) {
          review.dataset.claimedByMe = freshReview.dataset.claimedByMe;
          // Someone else holds it now (or it was decided): no more editing here.
          review.dataset.canWrite = freshReview.dataset.canWrite;
          review.classList.toggle("is-readonly", freshReview.dataset.canWrite !== "true");
        }
      })
      .catch(() => {
        /* The buttons stay as they were; a reload shows the truth. */
      });
  }

  function toggleActionForm(id, show) {
    const form = document.getElementById(id);
    if (!form) return;
    form.hidden = !show;
    const opener = document.querySelector('[aria-controls="' + id + '"]');
    if (opener) opener.setAttribute("aria-expanded", show ? "true" : "false");
    if (show) form.querySelector("select, textarea, input").focus();
    else if (opener) opener.focus();
  }

  function submitShortcut(key) {
    const form = document.querySelector('form[data-shortcut="' + key + '"]');
    if (!form) return false;
    form.requestSubmit();
    return true;
  }

  function nextFlagged() {
    const flagged = fields.filter((field) => field.dataset.flagged === "true");
    if (!flagged.length) return;
    const start = selected ? fields.indexOf(selected) : -1;
    const after = flagged.find((field) => fields.indexOf(field) > start);
    (after || flagged[0]).focus();
  }

  function openReveal(field) {
    const form = field.querySelector("form.field-reveal");
    if (!form) return;
    form.hidden = false;
    form.elements.reason.focus();
  }

  function closeReveal(field) {
    const form = field.querySelector("form.field-reveal");
    form.hidden = true;
    form.querySelector(".field-error").hidden = true;
    field.focus();
  }

  function reveal(field) {
    const form = field.querySelector("form.field-reveal");
    const error = form.querySelector(".field-error");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
    })
      .then((response) =>
        response
          .json()
          .catch(() => null)
          .then((body) => {
            if (!response.ok) throw new Error(errorText(body, response.status));
            // Shown for this page view only; a reload masks it again.
            field.querySelector("[data-role=value]").textContent = body.value;
            field.classList.add("is-revealed");
            const note = field.querySelector("[data-role=masked-note]");
            if (note) note.textContent = "Revealed (recorded)";
            form.reset();
            closeReveal(field);
          })
      )
      .catch((problem) => {
        error.textContent = problem.message || "Could not reveal. Try again.";
        error.hidden = false;
        form.elements.reason.focus();
      });
  }

  const helpDialog = document.getElementById("help-dialog");

  function typingIn(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (typingIn(event.target) || (helpDialog && helpDialog.open)) return;
    const key = event.key;
    if (key === "?") helpDialog.showModal();
    else if (key === "n") nextFlagged();
    else if (key === "a" || key === "c" || key === "x") {
      if (!submitShortcut(key)) return;
    } else if (key === "e" && document.getElementById("escalate-form")) toggleActionForm("escalate-form", true);
    else if (key === "r" && document.getElementById("reject-form")) toggleActionForm("reject-form", true);
    else if (key === "d" && document.getElementById("next-document")) document.getElementById("next-document").click();
    else return;
    event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    const control = event.target.closest("[data-action]");
    if (!control) return;
    const action = control.dataset.action;
    if (action === "help") helpDialog.showModal();
    else if (action === "escalate") toggleActionForm("escalate-form", true);
    else if (action === "reject") toggleActionForm("reject-form", true);
    else if (action === "close-form") toggleActionForm(control.closest("form").id, false);
  });

  document.addEventListener("keydown", (event) => {
    // Esc in an action form closes it and returns focus to its button.
    const form = event.target.closest && event.target.closest("form.action-form");
    if (form && event.key === "Escape") {
      event.preventDefault();
      toggleActionForm(form.id, false);
    }
  });

  /* ---------- wiring ---------- */

  // The line-item grid (line_items.js) re-runs the checks too.
  document.addEventListener("vouch:issues", (event) => showIssues(event.detail));

  review.addEventListener("click", (event) => {
    const control = event.target.closest("[data-action]");
    if (control && actions[control.dataset.action]) actions[control.dataset.action]();
  });
  const linesToggle = review.querySelector("[data-action=toggle-lines]");
  if (linesToggle) {
    linesToggle.addEventListener("change", () => review.classList.toggle("hide-lines", !linesToggle.checked));
  }

  if (viewport) {
    viewport.addEventListener("keydown", (event) => {
      if (event.key === "+" || event.key === "=") zoomBy(ZOOM_STEP);
      else if (event.key === "-") zoomBy(1 / ZOOM_STEP);
      else if (event.key === "0") actions["fit-page"]();
      else if (event.key === "PageDown" && figures.length > 1) showPage(pageIndex + 1);
      else if (event.key === "PageUp" && figures.length > 1) showPage(pageIndex - 1);
      else return;
      event.preventDefault();
    });
  }

  review.addEventListener("mouseover", (event) => {
    const polygon = event.target.closest && event.target.closest("polygon.ocr-line");
    if (polygon) showTip(polygon);
  });
  review.addEventListener("mouseout", (event) => {
    const polygon = event.target.closest && event.target.closest("polygon.ocr-line");
    if (polygon) hideTip(polygon);
  });
  review.addEventListener("click", (event) => {
    if (suppressClick) {
      suppressClick = false;
      return;
    }
    const polygon = event.target.closest && event.target.closest("polygon.ocr-line");
    if (polygon) useLine(polygon, event);
  });
  if (viewport) viewport.addEventListener("mousedown", startDrawing);
  document.addEventListener("mousemove", moveDrawing);
  document.addEventListener("mouseup", endDrawing);

  fieldList.addEventListener("focusin", (event) => {
    const field = event.target.closest("li.field");
    if (field) select(field);
  });
  fieldList.addEventListener("click", (event) => {
    const field = event.target.closest("li.field");
    if (!field) return;
    if (event.target.closest("[data-action=edit]")) openEditor(field);
    else if (event.target.closest("[data-action=confirm]")) confirmField(field, true);
    else if (event.target.closest("[data-action=cancel]")) closeEditor(field);
    else if (event.target.closest("[data-action=reveal]")) openReveal(field);
    else if (event.target.closest("[data-action=cancel-reveal]")) closeReveal(field);
    else if (!field.classList.contains("is-editing")) field.focus();
  });
  fieldList.addEventListener("dblclick", (event) => {
    const field = event.target.closest("li.field");
    if (field && !event.target.closest("form")) openEditor(field);
  });
  fieldList.addEventListener("submit", (event) => {
    event.preventDefault();
    const field = event.target.closest("li.field");
    if (event.target.matches("form.field-reveal")) reveal(field);
    else save(field);
  });
  fieldList.addEventListener("keydown", (event) => {
    const field = event.target.closest("li.field");
    if (!field) return;
    if (event.target !== field) {
      // Inside the editor: Esc abandons the edit; Enter submits the form natively.
      if (event.key === "Escape") {
        event.preventDefault();
        if (event.target.closest("form.field-reveal")) closeReveal(field);
        else closeEditor(field);
      }
      return;
    }
    const moves = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, Home: -fields.length, End: fields.length };
    if (event.key in moves) {
      event.preventDefault();
      moveFocus(field, moves[event.key]);
    } else if (event.key === "Enter" || event.key === "F2") {
      event.preventDefault();
      openEditor(field);
    } else if (event.key === "y" || event.key === " ") {
      // y: accept the value and go on to the next flagged field; Space: accept.
      event.preventDefault();
      confirmField(field, event.key === "y");
    } else if (event.key === "v" && field.querySelector("form.field-reveal")) {
      event.preventDefault();
      openReveal(field);
    } else if (event.key === "l" || event.key === "L") {
      event.preventDefault();
      stepLine(event.key === "l" ? 1 : -1);
    } else if (event.key === "u" && activeLine) {
      event.preventDefault();
      takeActiveLine();
    }
  });

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => typeof zoomMode === "string" && applyZoom(), 100);
  });

  if (figures.length) applyZoom();

  /* ---------- live status while the document is being read ---------- */

  if (FINISHED.has(review.dataset.status)) {
    // Under review: someone else may claim, release or decide it meanwhile.
    window.VouchLive.start({
      ids: () => [documentId],
      onDocument: (doc) => {
        if (doc.id !== documentId) return;
        if (doc.status === review.dataset.status && (doc.claimed_by || "") === review.dataset.claimedBy) return;
        review.dataset.status = doc.status;
        review.dataset.claimedBy = doc.claimed_by || "";
        refreshActions();
      },
    });
  } else {
    window.VouchLive.start({
      ids: () => [documentId],
      onDocument: (doc) => {
        if (doc.id !== documentId) return;
        const badge = document.getElementById("document-status");
        badge.className = "status status-" + doc.status;
        badge.textContent = doc.status_display;
        const pending = document.getElementById("pending-status");
        if (pending) pending.textContent = doc.status_display.toLowerCase();
        // Fields and page images exist now: the server renders them best.
        if (FINISHED.has(doc.status)) window.location.reload();
      },
    });
  }
})();
