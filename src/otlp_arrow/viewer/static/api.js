// otlp-arrow viewer, api.js: the read-only JSON API (/api/...) and the parameters in the URL's hash.
"use strict";

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
const RANGES = [
  ["", "all time"],
  ["15", "last 15 min"],
  ["60", "last hour"],
  ["360", "last 6 hours"],
  ["1440", "last 24 hours"],
];

// The server's bearer token, when it asks for one: kept for this browser tab only
// (sessionStorage), sent in a header, never in a URL.
const TOKEN_KEY = "otlp-arrow-token";

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
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

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
function sinceParam(minutes) {
  return minutes ? Date.now() - Number(minutes) * 60000 : "";
}

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
function hashParams() {
  const [path, query] = location.hash.slice(1).split("?");
  return { path: path || "/traces", params: new URLSearchParams(query || "") };
}

// biome-ignore lint/correctness/noUnusedVariables: used by the other scripts (they share top-level names)
function setHashParams(path, values) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) query.set(key, value);
  const target = `#${path}${query.toString() ? `?${query}` : ""}`;
  if (location.hash !== target) location.hash = target;
  else route();
}
