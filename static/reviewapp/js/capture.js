// The mobile capture page: each photo is checked by the server as soon as it
// is taken (nothing is stored), shown with its advice, and can be retaken or
// removed; "Send" posts the pages, in order, as one document.
(() => {
  "use strict";
  const form = document.getElementById("capture-form");
  if (!form) return;
  const input = document.getElementById("capture-input");
  const takeLabel = document.getElementById("capture-take-label");
  const list = document.getElementById("capture-pages");
  const template = document.getElementById("capture-page");
  const sendRow = document.getElementById("capture-send-row");
  const summary = document.getElementById("capture-summary");
  const sendButton = document.getElementById("capture-send");
  const result = document.getElementById("capture-result");
  const csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const pages = []; // {file, item, acceptable, checking}
  let replacing = null; // the page a retake replaces

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      credentials: "same-origin",
    }).then((response) =>
      response
        .json()
        .catch(() => ({ error: "The server answered " + response.status + "." }))
        .then((body) => ({ ok: response.ok, body })),
    );
  }

  function refresh() {
    pages.forEach((page, index) => {
      page.item.querySelector(".capture-page-title").textContent = "Page " + (index + 1);
      page.item.querySelector(".capture-thumb").alt = "Photo of page " + (index + 1);
    });
    takeLabel.textContent = "Take a photo of page " + (pages.length + 1);
    sendRow.hidden = pages.length === 0;
    const checking = pages.some((page) => page.checking);
    const doubtful = pages.filter((page) => page.acceptable === false).length;
    const refused = pages.some((page) => page.refused);
    sendButton.disabled = checking || refused || pages.length === 0;
    sendButton.textContent =
      pages.length === 1 ? "Send 1 page" : "Send " + pages.length + " pages";
    if (checking) summary.textContent = "Checking the last photo…";
    else if (refused) summary.textContent = "Remove or retake the page that is not a photo.";
    else if (doubtful)
      summary.textContent =
        doubtful === 1
          ? "1 page may not read: retake it, or send anyway and it waits for a new copy."
          : doubtful + " pages may not read: retake them, or send anyway and the document waits for a new copy.";
    else summary.textContent = "Every page should read.";
  }

  function showCheck(page, answer) {
    const verdict = page.item.querySelector(".capture-verdict");
    const advice = page.item.querySelector(".capture-advice");
    advice.replaceChildren();
    page.checking = false;
    if (!answer.ok) {
      page.refused = true;
      verdict.className = "capture-verdict status status-failed";
      verdict.textContent = "Not a readable photo";
      const line = document.createElement("li");
      line.textContent = answer.body.error || "The photo could not be checked.";
      advice.append(line);
    } else {
      page.refused = false;
      page.acceptable = answer.body.acceptable;
      verdict.className =
        "capture-verdict status " + (answer.body.acceptable ? "status-ready" : "status-needs_new_copy");
      verdict.textContent =
        (answer.body.acceptable ? "Should read" : "May not read") + " · quality " + answer.body.score;
      for (const text of answer.body.advice) {
        const line = document.createElement("li");
        line.textContent = text;
        advice.append(line);
      }
    }
    refresh();
  }

  function check(page) {
    page.checking = true;
    page.acceptable = undefined;
    const verdict = page.item.querySelector(".capture-verdict");
    verdict.className = "capture-verdict status status-uploading";
    verdict.textContent = "Checking…";
    refresh();
    const data = new FormData();
    data.append("photo", page.file, page.file.name || "photo.jpg");
    post(form.dataset.checkUrl, data)
      .then((answer) => showCheck(page, answer))
      .catch(() => showCheck(page, { ok: false, body: { error: "No connection: try again." } }));
  }

  function setPhoto(page, file) {
    const thumb = page.item.querySelector(".capture-thumb");
    if (thumb.src) URL.revokeObjectURL(thumb.src);
    page.file = file;
    thumb.src = URL.createObjectURL(file);
    check(page);
  }

  function addPage(file) {
    const item = template.content.firstElementChild.cloneNode(true);
    const page = { file, item, acceptable: undefined, checking: false, refused: false };
    item.querySelector(".capture-retake").addEventListener("click", () => {
      replacing = page;
      input.click();
    });
    item.querySelector(".capture-remove").addEventListener("click", () => {
      pages.splice(pages.indexOf(page), 1);
      item.remove();
      refresh();
    });
    pages.push(page);
    list.append(item);
    setPhoto(page, file);
  }

  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    result.hidden = true;
    if (replacing && pages.includes(replacing)) setPhoto(replacing, file);
    else addPage(file);
    replacing = null;
  });

  sendButton.addEventListener("click", () => {
    const data = new FormData();
    for (const page of pages) data.append("page", page.file, page.file.name || "photo.jpg");
    sendButton.disabled = true;
    summary.textContent = "Sending…";
    post(form.dataset.sendUrl, data)
      .then((answer) => {
        result.hidden = false;
        if (!answer.ok) {
          result.className = "message message-error";
          result.textContent = answer.body.error || "Sending failed. Try again.";
          refresh();
          return;
        }
        result.className = "message message-success";
        result.replaceChildren();
        const text = answer.body.duplicate
          ? answer.body.message
          : answer.body.status === "needs_new_copy"
            ? "Sent, but it waits for a new copy: " + answer.body.quality_advice.join("; ")
            : "Sent: " + answer.body.name + " is being read.";
        result.append(text + " ");
        if (answer.body.url) {
          const link = document.createElement("a");
          link.href = answer.body.url;
          link.textContent = "Open it";
          result.append(link);
        }
        for (const page of pages) URL.revokeObjectURL(page.item.querySelector(".capture-thumb").src);
        pages.length = 0;
        list.replaceChildren();
        refresh();
      })
      .catch(() => {
        result.hidden = false;
        result.className = "message message-error";
        result.textContent = "No connection: nothing was sent. Try again.";
        refresh();
      });
  });

  refresh();
})();
