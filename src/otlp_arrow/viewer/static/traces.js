// otlp-arrow viewer, traces.js: the trace list, one trace's waterfall and a span's details.
"use strict";

const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];

// ---- traces -----------------------------------------------------------------------------

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
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

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
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
