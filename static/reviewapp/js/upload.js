/*
 * Upload page: drop zone and file chooser. Each file goes on its own request
 * (XHR, because fetch cannot report upload progress), then its row follows the
 * document's status live.
 */
(function () {
  "use strict";

  // A few at a time: dozens of parallel uploads would all crawl and all time out.
  const CONCURRENT_UPLOADS = 3;
  // A multipart part's headers may not exceed 1 KB on the server, and a file
  // name is the one part of them the sender controls: a longer name travels
  // as a field of its own, the file under a shortened one. 120 characters of
  // 4-byte UTF-8 still fit.
  const NAME_IN_HEADER = 120;
  // Document names are stored up to this length (the server shortens longer ones).
  const STORED_NAME_LENGTH = 255;
  // Read (and possibly already under review) or failed: the pipeline is done.
  const FINISHED = new Set(["ready", "failed", "claimed", "escalated", "approved", "rejected"]);

  const form = document.getElementById("upload-form");
  const input = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("uploads");
  const template = document.getElementById("upload-item");
  const csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;

  const waiting = [];
  let running = 0;

  function setStatus(item, status, label) {
    const badge = item.querySelector(".status");
    badge.className = "status status-" + status;
    badge.textContent = label;
    item.dataset.status = status;
  }

  function setMessage(item, text, link) {
    const message = item.querySelector(".upload-message");
    message.textContent = text;
    if (link) {
      message.append(" ");
      const anchor = document.createElement("a");
      anchor.href = link;
      anchor.textContent = "Open it";
      message.append(anchor);
    }
    message.hidden = !text;
  }

  function linkName(item, url) {
    const name = item.querySelector(".upload-name");
    if (name.querySelector("a")) return;
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.textContent = name.textContent;
    name.replaceChildren(anchor);
  }

  function qualityMessage(doc) {
    const advice = doc.quality_advice || [];
    if (!advice.length) return "";
    const prefix = doc.status === "needs_new_copy"
      ? "Please send a new copy (image quality " + Math.round(doc.quality_score) + "/100): "
      : "Image quality " + Math.round(doc.quality_score) + "/100, it will be read; next time: ";
    return prefix + advice.join("; ") + ".";
  }

  function showDocument(item, doc) {
    setStatus(item, doc.status, doc.status_display);
    // The capture check's advice stays beside the file whatever happens next.
    if (doc.quality_advice !== undefined) item.dataset.quality = qualityMessage(doc);
    const note = [item.dataset.quality, item.dataset.nameNote].filter(Boolean).join(" ");
    setMessage(item, doc.status === "failed" ? doc.failure_reason : note);
  }

  function shortName(name) {
    if (name.length <= NAME_IN_HEADER) return name;
    const dot = name.lastIndexOf(".");
    const extension = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : "";
    return name.slice(0, NAME_IN_HEADER - extension.length - 1) + "…" + extension;
  }

  function nameNote(fullName) {
    if (fullName.length <= STORED_NAME_LENGTH) return "";
    return (
      "The name has " + fullName.length.toLocaleString("en") + " characters: the document " +
      "shows its start and end (" + STORED_NAME_LENGTH + " characters in all); its history " +
      "keeps the full name."
    );
  }

  function addItem(file) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.fullName = file.name;
    // A name of hundreds of characters would bury the row: its start and
    // extension are shown, the whole name on hover.
    const name = item.querySelector(".upload-name");
    name.textContent = shortName(file.name);
    if (name.textContent !== file.name) name.title = file.name;
    item.querySelector(".upload-progress").setAttribute("aria-label", "Uploading " + file.name);
    list.prepend(item);
    return item;
  }

  function finish(item, xhr) {
    const progress = item.querySelector(".upload-progress");
    let body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch (error) {
      body = null;
    }
    progress.classList.add(xhr.status === 201 || xhr.status === 200 ? "is-done" : "is-failed");
    if (xhr.status === 201 && body) {
      item.dataset.id = body.id;
      item.dataset.nameNote = nameNote(item.dataset.fullName);
      linkName(item, body.url);
      showDocument(item, body);
    } else if (xhr.status === 200 && body && body.duplicate) {
      item.classList.add("is-duplicate");
      setStatus(item, "duplicate", "Already uploaded");
      setMessage(item, body.message, body.url);
    } else {
      item.classList.add("is-refused");
      setStatus(item, "refused", "Not accepted");
      setMessage(item, (body && body.error) || "The upload failed (" + (xhr.status || "network error") + "). Try again.");
    }
  }

  function send(file, item) {
    const xhr = new XMLHttpRequest();
    const progress = item.querySelector(".upload-progress");
    const data = new FormData();
    data.append("file", file, shortName(file.name));
    data.append("original_name", file.name);
    running += 1;
    setStatus(item, "uploading", "Uploading");
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", csrfToken);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
    });
    xhr.upload.addEventListener("load", () => {
      // Bytes are sent; the server is now checking and storing the file.
      progress.value = 100;
      setStatus(item, "uploading", "Checking");
    });
    xhr.addEventListener("loadend", () => {
      finish(item, xhr);
      running -= 1;
      next();
    });
    xhr.send(data);
  }

  function next() {
    while (running < CONCURRENT_UPLOADS && waiting.length) {
      const [file, item] = waiting.shift();
      send(file, item);
    }
  }

  function enqueue(files) {
    Array.from(files).forEach((file) => {
      const item = addItem(file);
      setStatus(item, "uploading", "Waiting");
      waiting.push([file, item]);
    });
    next();
  }

  input.addEventListener("change", () => {
    enqueue(input.files);
    // Clearing lets the same file be chosen again (to see the duplicate message).
    input.value = "";
  });

  ["dragenter", "dragover"].forEach((type) =>
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add("is-dragging");
    })
  );
  ["dragleave", "dragend"].forEach((type) =>
    dropzone.addEventListener(type, (event) => {
      if (event.target === dropzone) dropzone.classList.remove("is-dragging");
    })
  );
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("is-dragging");
    if (event.dataTransfer && event.dataTransfer.files.length) enqueue(event.dataTransfer.files);
  });
  // A file dropped just outside the zone would otherwise make the browser open it.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.files.length) enqueue(input.files);
  });

  window.VouchLive.start({
    ids: () =>
      Array.from(list.querySelectorAll("li[data-id]"))
        .filter((item) => !FINISHED.has(item.dataset.status))
        .map((item) => item.dataset.id),
    onDocument: (doc) => {
      list.querySelectorAll("li[data-id]").forEach((item) => {
        if (item.dataset.id === doc.id) showDocument(item, doc);
      });
    },
  });
})();
