// otlp-arrow viewer, dom.js: element helpers, formatting and the controls every page uses.
// Everything is drawn with DOM calls and textContent: no HTML is built from data.
// The viewer's scripts are classic scripts that index.html loads in order (dom.js, api.js,
// traces.js, metrics.js, logs.js, app.js); they share their top-level declarations.
"use strict";

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
const main = document.getElementById("main");

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

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
function fmtTime(ns) {
  if (ns === null || ns === undefined) return "";
  const date = new Date(Number(ns) / 1e6);
  return date.toISOString().replace("T", " ").replace("Z", "");
}

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
function fmtDuration(ns) {
  const n = Number(ns);
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} s`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} ms`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} µs`;
  return `${n} ns`;
}

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
function formValues(form) {
  const values = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    values[field.name] = field.type === "checkbox" ? (field.checked ? "1" : "") : field.value;
  }
  return values;
}

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
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

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
function showError(where, error) {
  fill(where, el("p", { class: "err", role: "alert" }, `Could not load: ${error.message}`));
}

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
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
