// otlp-arrow viewer, logs.js: the log search and its list.
"use strict";

const SEVERITIES = [
  ["", "any"],
  ["5", "DEBUG+"],
  ["9", "INFO+"],
  ["13", "WARN+"],
  ["17", "ERROR+"],
  ["21", "FATAL"],
];

// ---- logs ------------------------------------------------------------------------------------

function sevClass(number) {
  if (number >= 17) return "sev-error";
  if (number >= 13) return "sev-warn";
  return "";
}

function bodyText(body) {
  return typeof body === "string" ? body : JSON.stringify(body);
}

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
async function logsView(params) {
  const values = Object.fromEntries(params);
  const services = await getJSON("services");
  const form = el(
    "form",
    { class: "filters", "aria-label": "search logs" },
    el(
      "label",
      {},
      "Service",
      select("service", [["", "all"], ...services.services.map((s) => [s, s])], values.service || ""),
    ),
    el("label", {}, "Severity", select("severity", SEVERITIES, values.severity || "")),
    el(
      "label",
      {},
      "Text",
      el("input", { name: "q", type: "search", value: values.q || "", placeholder: "words in the body" }),
    ),
    el("label", {}, "Time", select("range", RANGES, values.range || "")),
    values.trace_id ? el("input", { name: "trace_id", type: "hidden", value: values.trace_id }) : null,
    el("button", { type: "submit" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setHashParams("/logs", formValues(form));
  });
  const results = el("div", {});
  fill(main, el("h1", {}, "Logs"), form, results);
  const offset = Number(values.offset || 0);
  const load = async () => {
    try {
      const page = await getJSON("logs", {
        service: values.service,
        severity: values.severity,
        q: values.q,
        trace_id: values.trace_id,
        since: sinceParam(values.range),
        offset,
        limit: 100,
      });
      renderLogs(results, page, (next) => setHashParams("/logs", { ...values, offset: String(next) }));
    } catch (error) {
      showError(results, error);
    }
  };
  await load();
  return load;
}

function renderLogs(where, page, onMove) {
  if (!page.logs.length) {
    fill(where, el("p", { class: "muted" }, "No log records match."));
    return;
  }
  const rows = page.logs.map((l) =>
    el(
      "tr",
      {},
      el("td", { class: "mono" }, fmtTime(l.time_ns)),
      el("td", { class: sevClass(l.severity_number) }, l.severity_text || String(l.severity_number || "")),
      el("td", {}, l.service || ""),
      el("td", {}, bodyText(l.body)),
      el(
        "td",
        {},
        l.trace_id
          ? el(
              "a",
              { href: `#/trace/${l.trace_id}`, class: "mono", "data-testid": "log-trace-link" },
              `${l.trace_id.slice(0, 12)}…`,
            )
          : "",
      ),
    ),
  );
  fill(
    where,
    pager(page, onMove),
    el(
      "table",
      { "data-testid": "log-list" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Time (UTC)", "Severity", "Service", "Body", "Trace"].map((h) => el("th", {}, h)),
        ),
      ),
      el("tbody", {}, rows),
    ),
  );
}
