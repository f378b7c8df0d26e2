// otlp-arrow viewer: a small single-page app over the read-only JSON API (/api/...).
// Everything is drawn with DOM calls and textContent: no HTML is built from data.
"use strict";

const main = document.getElementById("main");
const statusEl = document.getElementById("status");
let lastStatus = null;
let refreshView = null; // re-renders the current view's data when new rows arrive

const RANGES = [
  ["", "all time"],
  ["15", "last 15 min"],
  ["60", "last hour"],
  ["360", "last 6 hours"],
  ["1440", "last 24 hours"],
];
const SEVERITIES = [
  ["", "any"],
  ["5", "DEBUG+"],
  ["9", "INFO+"],
  ["13", "WARN+"],
  ["17", "ERROR+"],
  ["21", "FATAL"],
];
const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// The server's bearer token, when it asks for one: kept for this browser tab only
// (sessionStorage), sent in a header, never in a URL.
const TOKEN_KEY = "otlp-arrow-token";

async function getJSON(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined && value !== false) query.set(key, value);
  }
  for (let attempt = 0; ; attempt++) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`/api/${path}?${query}`, { headers });
    if (response.status === 401 && attempt < 3) {
      if (sessionStorage.getItem(TOKEN_KEY) !== token) continue; // another request asked
      const entered = (window.prompt("This viewer needs an access token:") || "").trim();
      if (!entered) throw new Error("an access token is required");
      sessionStorage.setItem(TOKEN_KEY, entered);
      continue;
    }
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }
}

function fmtTime(ns) {
  if (ns === null || ns === undefined) return "";
  const date = new Date(Number(ns) / 1e6);
  return date.toISOString().replace("T", " ").replace("Z", "");
}

function fmtDuration(ns) {
  const n = Number(ns);
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} s`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} ms`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} µs`;
  return `${n} ns`;
}

function sinceParam(minutes) {
  return minutes ? Date.now() - Number(minutes) * 60000 : "";
}

function hashParams() {
  const [path, query] = location.hash.slice(1).split("?");
  return { path: path || "/traces", params: new URLSearchParams(query || "") };
}

function setHashParams(path, values) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) query.set(key, value);
  const target = `#${path}${query.toString() ? `?${query}` : ""}`;
  if (location.hash !== target) location.hash = target;
  else route();
}

function formValues(form) {
  const values = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    values[field.name] = field.type === "checkbox" ? (field.checked ? "1" : "") : field.value;
  }
  return values;
}

function select(name, options, value) {
  return el(
    "select",
    { name },
    options.map(([v, label]) => el("option", { value: v, selected: v === value }, label)),
  );
}

function fill(where, ...nodes) {
  where.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
}

function showError(where, error) {
  fill(where, el("p", { class: "err", role: "alert" }, `Could not load: ${error.message}`));
}

function pager(page, onMove) {
  const first = page.total ? page.offset + 1 : 0;
  const last = Math.min(page.offset + page.limit, page.total);
  return el(
    "div",
    { class: "pager" },
    el(
      "button",
      { type: "button", disabled: page.offset === 0, onclick: () => onMove(Math.max(0, page.offset - page.limit)) },
      "‹ Newer",
    ),
    el("span", { "data-testid": "page-info" }, `${first}–${last} of ${page.total}`),
    el(
      "button",
      { type: "button", disabled: last >= page.total, onclick: () => onMove(page.offset + page.limit) },
      "Older ›",
    ),
  );
}

// ---- traces -----------------------------------------------------------------------------

async function tracesView(params) {
  const values = Object.fromEntries(params);
  const services = await getJSON("services", { service: values.service });
  const form = el(
    "form",
    { class: "filters", "aria-label": "search traces" },
    el(
      "label",
      {},
      "Service",
      select("service", [["", "all"], ...services.services.map((s) => [s, s])], values.service || ""),
    ),
    el(
      "label",
      {},
      "Span name",
      select("name", [["", "any"], ...services.span_names.map((s) => [s, s])], values.name || ""),
    ),
    el(
      "label",
      {},
      "Min duration (ms)",
      el("input", { name: "min_ms", type: "number", min: "0", value: values.min_ms || "", size: "6" }),
    ),
    el("label", {}, "Time", select("range", RANGES, values.range || "")),
    el(
      "label",
      { class: "check" },
      el("input", { name: "errors", type: "checkbox", checked: values.errors === "1" }),
      "errors only",
    ),
    el("button", { type: "submit" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setHashParams("/traces", formValues(form));
  });
  form.elements.service.addEventListener("change", () => setHashParams("/traces", { ...formValues(form), name: "" }));
  const results = el("div", { id: "results" });
  fill(main, el("h1", {}, "Traces"), form, results);
  const offset = Number(values.offset || 0);
  const load = async () => {
    try {
      const page = await getJSON("traces", {
        service: values.service,
        name: values.name,
        min_ms: values.min_ms,
        errors: values.errors,
        since: sinceParam(values.range),
        offset,
        limit: 50,
      });
      renderTraceList(results, page, (next) => setHashParams("/traces", { ...values, offset: String(next) }));
    } catch (error) {
      showError(results, error);
    }
  };
  await load();
  return load;
}

function renderTraceList(where, page, onMove) {
  if (!page.traces.length) {
    fill(where, el("p", { class: "muted" }, "No traces match. Send some, or widen the search."));
    return;
  }
  const longest = Math.max(...page.traces.map((t) => Number(t.duration_ns)), 1);
  const rows = page.traces.map((t) =>
    el(
      "tr",
      {
        class: "clickable",
        "data-trace-id": t.trace_id,
        onclick: () => {
          location.hash = `#/trace/${t.trace_id}`;
        },
      },
      el("td", { class: "mono" }, fmtTime(t.start_ns)),
      el("td", {}, t.root_service || ""),
      el("td", {}, el("a", { href: `#/trace/${t.trace_id}` }, t.root_name || "(no name)")),
      el("td", {}, fmtDuration(t.duration_ns), " ", durationBar(Number(t.duration_ns) / longest)),
      el("td", {}, String(t.spans)),
      el("td", { class: t.errors ? "err" : "muted" }, String(t.errors)),
      el("td", { class: "muted" }, (t.services || []).join(", ")),
    ),
  );
  fill(
    where,
    pager(page, onMove),
    el(
      "table",
      { "data-testid": "trace-list" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Start (UTC)", "Service", "Root span", "Duration", "Spans", "Errors", "Services"].map((h) =>
            el("th", {}, h),
          ),
        ),
      ),
      el("tbody", {}, rows),
    ),
  );
}

function durationBar(fraction) {
  const track = el("span", { class: "span-track", "aria-hidden": "true" });
  track.style.display = "inline-block";
  track.style.width = "80px";
  track.style.height = "10px";
  const bar = el("span", { class: "span-bar" });
  bar.style.top = "0";
  bar.style.height = "10px";
  bar.style.width = `${Math.max(2, fraction * 80)}px`;
  track.append(bar);
  return track;
}

// ---- one trace: waterfall ------------------------------------------------------------------

async function traceView(traceId) {
  fill(main, el("p", { class: "muted" }, "Loading trace…"));
  let data;
  try {
    data = await getJSON("trace", { id: traceId });
  } catch (error) {
    showError(main, error);
    return null;
  }
  if (!data.spans.length) {
    fill(
      main,
      el("h1", {}, "Trace ", el("span", { class: "mono" }, traceId)),
      el("p", { class: "muted" }, "No spans stored for this trace (yet)."),
    );
    return null;
  }
  const start = Math.min(...data.spans.map((s) => Number(s.start_ns)));
  const end = Math.max(...data.spans.map((s) => Number(s.start_ns) + Number(s.duration_ns)));
  const total = Math.max(end - start, 1);
  const ordered = treeOrder(data.spans);
  const details = el(
    "div",
    { class: "details", "data-testid": "span-details" },
    el("p", { class: "muted" }, "Select a span to see its details."),
  );
  const rows = ordered.map(({ span, depth }) => {
    const bar = el("div", {
      class: `span-bar${span.status_code === 2 ? " error" : ""}`,
      title: `${span.name}: ${fmtDuration(span.duration_ns)}`,
    });
    const left = ((Number(span.start_ns) - start) / total) * 100;
    const width = (Number(span.duration_ns) / total) * 100;
    bar.style.left = `${left}%`;
    bar.style.width = `${width}%`;
    const label = el("span", { class: "span-time" }, fmtDuration(span.duration_ns));
    if (left + width > 80) {
      label.classList.add("inside"); // no room after the bar: write on it
      label.style.left = `calc(${left}% + 4px)`;
    } else {
      label.style.left = `calc(${left + width}% + 4px)`;
    }
    const row = el(
      "div",
      {
        class: "span-row",
        "data-span-id": span.span_id,
        "data-depth": String(depth),
        "data-error": span.status_code === 2 ? "1" : "0",
      },
      el(
        "div",
        { class: `span-label d${Math.min(depth, 7)}`, title: span.name },
        span.status_code === 2 ? el("span", { class: "err" }, "! ") : null,
        el("strong", {}, span.service || ""),
        " ",
        span.name,
      ),
      el("div", { class: "span-track" }, bar, label),
    );
    row.addEventListener("click", () => {
      for (const other of main.querySelectorAll(".span-row.selected")) other.classList.remove("selected");
      row.classList.add("selected");
      renderSpanDetails(details, span);
    });
    return row;
  });
  const errors = data.spans.filter((s) => s.status_code === 2).length;
  fill(
    main,
    el("h1", {}, "Trace ", el("span", { class: "mono", "data-testid": "trace-id" }, data.trace_id)),
    el(
      "p",
      { class: "muted" },
      `${data.spans.length} spans · ${fmtDuration(total)} · started ${fmtTime(start)} UTC`,
      errors ? el("span", { class: "err" }, ` · ${errors} error${errors > 1 ? "s" : ""}`) : null,
      data.truncated ? " · only the first spans are shown" : null,
    ),
    el("div", { class: "waterfall", "data-testid": "waterfall" }, rows),
    details,
    data.logs.length ? el("h2", {}, `Logs of this trace (${data.logs.length})`) : null,
    data.logs.length
      ? el(
          "table",
          {},
          el(
            "tbody",
            {},
            data.logs.map((l) =>
              el(
                "tr",
                {},
                el("td", { class: "mono" }, fmtTime(l.time_ns)),
                el("td", { class: sevClass(l.severity_number) }, l.severity_text || String(l.severity_number || "")),
                el("td", {}, bodyText(l.body)),
              ),
            ),
          ),
        )
      : null,
  );
  return null; // a trace page does not change when unrelated data arrives
}

function treeOrder(spans) {
  const byParent = new Map();
  const ids = new Set(spans.map((s) => s.span_id));
  for (const span of spans) {
    const parent = span.parent_span_id && ids.has(span.parent_span_id) ? span.parent_span_id : "";
    if (!byParent.has(parent)) byParent.set(parent, []);
    byParent.get(parent).push(span);
  }
  const out = [];
  const visit = (parent, depth) => {
    for (const span of byParent.get(parent) || []) {
      out.push({ span, depth });
      if (span.span_id !== parent) visit(span.span_id, depth + 1);
    }
  };
  visit("", 0);
  return out;
}

// A note that the server left items out (it caps what one span shows): the "truncated" marker.
function hiddenNote(count, what) {
  return count ? el("p", { class: "muted truncated" }, `… ${count.toLocaleString()} more ${what} not shown`) : null;
}

function kvTable(title, values, hidden) {
  const entries = Object.entries(values || {});
  if (!entries.length) return null;
  return el(
    "div",
    {},
    el("h2", {}, title),
    hiddenNote(hidden, "attributes"),
    el(
      "table",
      {},
      el(
        "tbody",
        {},
        entries.map(([k, v]) =>
          el(
            "tr",
            {},
            el("td", { class: "mono" }, k),
            el("td", { class: "mono" }, typeof v === "string" ? v : JSON.stringify(v)),
          ),
        ),
      ),
    ),
  );
}

function renderSpanDetails(where, span) {
  const status = ["unset", "ok", "error"][span.status_code ?? 0] || String(span.status_code);
  fill(
    where,
    el("h2", {}, span.name),
    kvTable("Span", {
      "span id": span.span_id,
      "parent span id": span.parent_span_id || "(root)",
      kind: KINDS[span.kind] || String(span.kind),
      service: span.service,
      start: `${fmtTime(span.start_ns)} UTC`,
      duration: fmtDuration(span.duration_ns),
      status: span.status_message ? `${status}: ${span.status_message}` : status,
      scope: [span.scope_name, span.scope_version].filter(Boolean).join(" "),
    }),
    kvTable("Attributes", span.attributes, span.hidden?.attributes),
    span.events.length
      ? el(
          "div",
          {},
          el("h2", {}, "Events"),
          hiddenNote(span.hidden?.events, "events"),
          el(
            "table",
            {},
            el(
              "tbody",
              {},
              span.events.map((e) =>
                el(
                  "tr",
                  {},
                  el("td", { class: "mono" }, fmtTime(e.time_ns)),
                  el(
                    "td",
                    {},
                    el("strong", {}, e.name),
                    " ",
                    el("span", { class: "mono muted" }, JSON.stringify(e.attributes)),
                  ),
                ),
              ),
            ),
          ),
        )
      : null,
    span.links.length
      ? el(
          "div",
          {},
          el("h2", {}, "Links"),
          hiddenNote(span.hidden?.links, "links"),
          el(
            "table",
            {},
            el(
              "tbody",
              {},
              span.links.map((link) =>
                el(
                  "tr",
                  {},
                  el("td", {}, el("a", { href: `#/trace/${link.trace_id}`, class: "mono" }, link.trace_id)),
                  el("td", { class: "mono" }, link.span_id, " ", JSON.stringify(link.attributes)),
                ),
              ),
            ),
          ),
        )
      : null,
    kvTable("Resource", span.resource_attributes, span.hidden?.resource_attributes),
  );
}

// ---- metrics ---------------------------------------------------------------------------------

async function metricsView(params) {
  const values = Object.fromEntries(params);
  const list = (await getJSON("metrics")).metrics;
  if (!list.length) {
    fill(main, el("h1", {}, "Metrics"), el("p", { class: "muted" }, "No metrics stored yet."));
    return null;
  }
  const chosen = list.find((m) => m.name === values.name) || list[0];
  const form = el(
    "form",
    { class: "filters", "aria-label": "choose a metric" },
    el(
      "label",
      {},
      "Metric",
      select(
        "name",
        list.map((m) => [m.name, `${m.name} (${m.type})`]),
        chosen.name,
      ),
    ),
    el(
      "label",
      {},
      "Split by",
      select("split", [["", "nothing"], ...(chosen.keys || []).map((k) => [k, k])], values.split || ""),
    ),
    el("label", {}, "Time", select("range", RANGES, values.range || "")),
  );
  form.addEventListener("change", (event) => {
    const next = formValues(form);
    if (event.target.name === "name") next.split = "";
    setHashParams("/metrics", next);
  });
  const chart = el("div", { id: "chart" });
  fill(
    main,
    el("h1", {}, "Metrics"),
    form,
    el(
      "p",
      { class: "muted" },
      [chosen.description, chosen.unit ? `unit: ${chosen.unit}` : "", `${chosen.points} points`]
        .filter(Boolean)
        .join(" · "),
    ),
    chart,
  );
  const load = async () => {
    try {
      const data = await getJSON("metric", { name: chosen.name, split: values.split, since: sinceParam(values.range) });
      drawChart(chart, data, chosen.unit);
    } catch (error) {
      showError(chart, error);
    }
  };
  await load();
  return load;
}

function drawChart(where, data, unit) {
  const series = data.series.filter((s) => s.points.length);
  // points the server could not chart (malformed histograms...): said, not hidden
  const notes = (data.notes || []).map((note) =>
    el("p", { class: "note", role: "note", "data-testid": "chart-note" }, note),
  );
  if (!series.length) {
    fill(where, notes.length ? null : el("p", { class: "muted" }, "No points in this time range."), ...notes);
    return;
  }
  const W = 900,
    H = 320,
    L = 64,
    R = 16,
    T = 12,
    B = 28;
  const xs = series.flatMap((s) => s.points.map((p) => Number(p[0])));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)];
  if (x1 === x0) {
    x0 -= 1e9;
    x1 += 1e9;
  }
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const svg = svgEl("svg", {
    viewBox: `0 0 ${W} ${H}`,
    width: "100%",
    class: "chart",
    role: "img",
    "aria-label": `${data.name} over time`,
    "data-testid": "chart",
  });
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    svg.append(svgEl("line", { x1: L, x2: W - R, y1: sy(y), y2: sy(y), class: "grid" }));
    svg.append(svgEl("text", { x: L - 6, y: sy(y) + 4, "text-anchor": "end" }, formatNumber(y)));
  }
  for (let i = 0; i <= 4; i++) {
    const x = x0 + ((x1 - x0) * i) / 4;
    const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
    svg.append(svgEl("text", { x: sx(x), y: H - 8, "text-anchor": anchor }, fmtTime(x).slice(11, 19)));
  }
  svg.append(svgEl("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
  svg.append(svgEl("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${sx(Number(p[0])).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    svg.append(svgEl("path", { d, class: `line c${i % 8}`, "data-series": s.label }));
  });
  const legend = el(
    "div",
    { class: "legend" },
    series.map((s, i) => el("span", {}, el("span", { class: `swatch c${i % 8}` }), s.label)),
  );
  const percentiles = ["histogram", "exponential_histogram"].includes(data.type) ? " — percentiles over time" : "";
  fill(
    where,
    el("p", { class: "muted" }, `${data.type}${unit ? ` in ${unit}` : ""}${percentiles}`),
    svg,
    legend,
    ...notes,
  );
}

function svgEl(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatNumber(value) {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return abs >= 10 || value === 0 ? value.toFixed(0) : value.toPrecision(2);
}

// ---- logs ------------------------------------------------------------------------------------

function sevClass(number) {
  if (number >= 17) return "sev-error";
  if (number >= 13) return "sev-warn";
  return "";
}

function bodyText(body) {
  return typeof body === "string" ? body : JSON.stringify(body);
}

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
