// Polls the retrain job this page was opened for and shows its progress;
// reloads the page once the job ends so the new version appears in the list.
(function () {
  "use strict";
  const box = document.getElementById("retrain-progress");
  if (!box) return;
  const url = box.dataset.statusUrl;
  const finished = new Set(["finished", "failed", "stopped", "canceled"]);

  async function poll() {
    let status;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      status = await response.json();
    } catch (error) {
      box.textContent = "Retraining: status unavailable, retrying…";
      window.setTimeout(poll, 5000);
      return;
    }
    if (status.status === "finished") {
      box.textContent = "Retraining finished: " + (status.result || "");
    } else if (finished.has(status.status)) {
      // A failure stays on screen (and in the list of failed retrains).
      box.textContent = "Retraining " + status.status + ". " + (status.error || "");
      box.dataset.done = "true";
      return;
    } else {
      let text = "Retraining (" + status.status + "): " + (status.progress || "waiting for a worker…");
      if (status.percent) text += " — " + status.percent + " %";
      if (status.seconds_left !== null && status.seconds_left !== undefined) {
        const minutes = Math.floor(status.seconds_left / 60);
        text += ", about " + (minutes ? minutes + " min " : "") + (status.seconds_left % 60) + " s left";
      }
      box.textContent = text;
      window.setTimeout(poll, 2000);
      return;
    }
    box.dataset.done = "true";
    window.setTimeout(function () {
      const next = new URL(window.location.href);
      next.searchParams.delete("job");
      window.location.replace(next.toString());
    }, 3000);
  }
  poll();
})();
