// otlp-arrow viewer, app.js: the router, the status line and its refresh, start-up.
// A small single-page app over the read-only JSON API; the other scripts (loaded before this
// one by index.html) draw the pages.
"use strict";

const statusEl = document.getElementById("status");
let lastStatus = null;
let refreshView = null; // re-renders the current view's data when new rows arrive

// ---- routing and refresh ---------------------------------------------------------------------

async function route() {
  const { path, params } = hashParams();
  const view = path.split("/")[1] || "traces";
  for (const link of document.querySelectorAll("nav a"))
    link.classList.toggle("active", link.dataset.view === view || (view === "trace" && link.dataset.view === "traces"));
  refreshView = null;
  try {
    if (view === "trace") refreshView = await traceView(path.split("/")[2] || "");
    else if (view === "metrics") refreshView = await metricsView(params);
    else if (view === "logs") refreshView = await logsView(params);
    else refreshView = await tracesView(params);
  } catch (error) {
    showError(main, error);
  }
  rendered();
}

// Counts finished renders in <body data-renders>: tests (and curious people) can tell when
// the page shows the answer to the latest question.
function rendered() {
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
}

async function poll() {
  try {
    const status = await getJSON("status");
    statusEl.textContent = `${status.traces} spans · ${status.metrics} points · ${status.logs} logs`;
    const key = JSON.stringify(status);
    if (lastStatus !== null && key !== lastStatus && refreshView) {
      await refreshView();
      rendered();
    }
    lastStatus = key;
  } catch {
    statusEl.textContent = "viewer unreachable";
  }
}

window.addEventListener("hashchange", route);
route();
poll();
setInterval(poll, 3000);
