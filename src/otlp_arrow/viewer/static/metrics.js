// otlp-arrow viewer, metrics.js: the metric chooser and its chart (SVG).
"use strict";

// ---- metrics ---------------------------------------------------------------------------------

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
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
