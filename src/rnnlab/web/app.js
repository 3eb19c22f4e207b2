// rnnlab serve: the page. Plain JavaScript, no build step, nothing loaded from elsewhere.
// It asks GET model which kind of model is served, then uses POST explain (word colours and
// the trajectory, when the model offers it) or POST predict; files are parsed here and sent
// in batches that respect the server's limits.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const KEY_STORE = "rnnlab-api-key";
const MAX_FILE_BYTES = 50 * 1024 * 1024;

const state = { info: null, apiKey: sessionStorage.getItem(KEY_STORE) || "", table: null };

// ---------------------------------------------------------------- talking to the server

async function api(path, body) {
  const headers = {};
  if (state.apiKey) headers["X-API-Key"] = state.apiKey;
  const options = { method: body === undefined ? "GET" : "POST", headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    return { ok: false, status: 0, detail: "the server did not answer (is it still running?)" };
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (response.status === 401) $("key-card").hidden = false;
  const detail = data && typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`;
  return { ok: response.ok, status: response.status, data, detail };
}

function setStatus(el, text, isError) {
  el.textContent = text;
  el.classList.toggle("error", Boolean(isError));
}

// ---------------------------------------------------------------- the model

const KIND_TEXT = {
  classifier: { title: "Try a review", button: "Classify", placeholder: "Type or paste a review…" },
  tagger: { title: "Try a sentence", button: "Tag", placeholder: "Type a sentence to tag…" },
  seq2seq: { title: "Try an input", button: "Transform", placeholder: "Type an input…" },
};

async function loadModel() {
  const r = await api("model");
  if (!r.ok) {
    const why = r.status === 401 ? "this server needs an API key: enter it below" : r.detail;
    setStatus($("model-info"), `cannot read the model: ${why}`, true);
    return;
  }
  const info = r.data;
  state.info = info;
  const words = KIND_TEXT[info.kind] || KIND_TEXT.classifier;
  $("try-title").textContent = words.title;
  $("run").textContent = words.button;
  $("text").placeholder = words.placeholder;
  $("run").disabled = false;

  const parts = [];
  const name = document.createElement("b");
  name.textContent = info.name || "model";
  parts.push(name, document.createTextNode(` · ${info.kind}`));
  const m = info.model;
  if (m && typeof m === "object" && m.cell) {
    const layers = m.num_layers ? ` ×${m.num_layers}` : "";
    parts.push(document.createTextNode(` · ${m.bidirectional ? "bi" : ""}${m.cell.toUpperCase()}${layers}`));
  } else if (typeof m === "string") {
    parts.push(document.createTextNode(` · ${m}`));
  }
  if (info.backend) parts.push(document.createTextNode(` · ${info.backend}`));
  if (info.labels) parts.push(document.createTextNode(` · labels: ${info.labels.join(", ")}`));
  if (info.tags) parts.push(document.createTextNode(` · ${info.tags.length} tags`));
  $("model-info").replaceChildren(...parts);
}

// ---------------------------------------------------------------- one text

async function runText() {
  const text = $("text").value;
  const status = $("run-status");
  if (!text.trim()) {
    setStatus(status, "Type some text first.", true);
    return;
  }
  if (!state.info) await loadModel();
  if (!state.info) return;
  $("run").disabled = true;
  setStatus(status, "working…");
  const started = performance.now();
  try {
    const kind = state.info.kind;
    let note = "";
    if (kind === "classifier" && state.info.explain) {
      const r = await api("explain", { texts: [text] });
      if (r.ok) {
        renderExplanation(text, r.data.explanations[0]);
        setStatus(status, `${Math.round(performance.now() - started)} ms`);
        return;
      }
      if (r.status === 401) {
        setStatus(status, r.detail, true);
        return;
      }
      note = `No word colours: ${r.detail}`;
    }
    const r = await api("predict", { texts: [text] });
    if (!r.ok) {
      setStatus(status, r.detail, true);
      return;
    }
    const prediction = r.data.predictions[0];
    if (kind === "tagger") renderTags(prediction);
    else if (kind === "seq2seq") renderOutput(prediction);
    else renderPrediction(text, prediction, note || "Word colours and the trajectory need POST /explain, which this model does not offer.");
    setStatus(status, `${Math.round(performance.now() - started)} ms`);
  } finally {
    $("run").disabled = false;
  }
}

function resetResult() {
  $("result").hidden = false;
  for (const id of ["verdict", "output", "legend", "trajectory-figure"]) $(id).hidden = true;
  $("words").replaceChildren();
  $("trajectory").replaceChildren();
  $("explain-note").textContent = "";
}

function showVerdict(label, score) {
  $("verdict").hidden = false;
  $("label").textContent = label;
  $("score").textContent = `score ${Number(score).toFixed(4)}`;
  $("score-bar").style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
}

function renderPrediction(text, prediction, note) {
  resetResult();
  showVerdict(prediction.label, prediction.score);
  $("words").textContent = text;
  $("explain-note").textContent = note;
}

// Match the explanation's tokens to the user's text, so the words keep their own case,
// spacing and punctuation. Between two tokens only spaces and HTML tags (which the
// tokenizer drops) may lie; if that fails anywhere, show the tokens as the model read them.
function alignTokens(text, tokens) {
  const lower = text.toLowerCase();
  const gap = /^(?:\s|<[a-zA-Z/][^>]*>)*$/;
  const pieces = [];
  let pos = 0;
  for (let i = 0; i < tokens.length; i++) {
    const tok = String(tokens[i].token).toLowerCase();
    const at = lower.indexOf(tok, pos);
    if (at < 0 || !gap.test(text.slice(pos, at))) return null;
    if (at > pos) pieces.push({ text: text.slice(pos, at) });
    pieces.push({ text: text.slice(at, at + tok.length), index: i });
    pos = at + tok.length;
  }
  if (pos < text.length) pieces.push({ text: text.slice(pos) });
  return pieces;
}

function renderExplanation(text, ex) {
  resetResult();
  showVerdict(ex.label, ex.score);
  const tokens = ex.tokens || [];
  const target = ex.target ?? ex.label;
  const scale = Math.max(1e-12, ...tokens.map((t) => Math.abs(Number(t.attribution) || 0)));
  const pieces = alignTokens(text, tokens) ||
    tokens.flatMap((t, i) => [{ text: String(t.token), index: i }, { text: " " }]);
  const words = $("words");
  const styles = getComputedStyle(document.documentElement);
  const toward = styles.getPropertyValue("--toward").trim();
  const against = styles.getPropertyValue("--against").trim();
  for (const piece of pieces) {
    if (piece.index === undefined) {
      words.append(document.createTextNode(piece.text));
      continue;
    }
    const t = tokens[piece.index];
    const a = Number(t.attribution) || 0;
    const strength = Math.abs(a) / scale;
    const span = document.createElement("span");
    span.className = "token";
    span.textContent = piece.text;
    span.dataset.index = String(piece.index);
    span.dataset.attribution = String(a);
    span.style.backgroundColor = `rgba(${a >= 0 ? toward : against}, ${(0.08 + 0.77 * strength).toFixed(3)})`;
    if (strength > 0.6) span.style.color = "#fff";
    if (t.known === false) span.classList.add("unknown");
    if (t.read === false) span.classList.add("unread");
    const traj = t.trajectory === null || t.trajectory === undefined ? "" :
      `; P(${target}) after it ${Number(t.trajectory).toFixed(3)}`;
    const flags = (t.known === false ? "; not in the vocabulary" : "") +
      (t.read === false ? "; not read (beyond the model's length)" : "");
    span.title = `${t.token}: attribution ${a >= 0 ? "+" : ""}${a.toFixed(3)}${traj}${flags}`;
    span.addEventListener("mouseenter", () => markTrajectory(piece.index));
    span.addEventListener("mouseleave", () => markTrajectory(null));
    words.append(span);
  }
  $("legend").hidden = false;
  $("legend-toward").textContent = `pushed toward "${target}"`;
  $("legend-against").textContent = "pushed away from it";

  const values = tokens.map((t) => (t.trajectory === null || t.trajectory === undefined ? null : Number(t.trajectory)));
  if (ex.trajectory_kind !== "none" && values.some((v) => v !== null)) {
    $("trajectory-figure").hidden = false;
    const how = ex.trajectory_kind === "prefix-reruns" ? "the model re-run on each prefix" :
      ex.trajectory_kind === "one-pass" ? "from the hidden state after each token, one pass" : ex.trajectory_kind;
    $("trajectory-caption").textContent = `P("${target}") after each token (${how})`;
    drawTrajectory(tokens, values);
  }
  const notes = [];
  if (ex.method) notes.push(`method: ${ex.method}`);
  const c = ex.completeness;
  if (c && c.relative_error !== null && c.relative_error !== undefined) {
    notes.push(`completeness error ${(100 * c.relative_error).toFixed(1)}%`);
  }
  if (ex.known_share !== undefined && ex.known_share !== null) {
    notes.push(`${Math.round(100 * ex.known_share)}% of the words are in the vocabulary`);
  }
  $("explain-note").textContent = notes.join(" · ");
}

function drawTrajectory(tokens, values) {
  const W = 760, H = 180, left = 36, right = 10, top = 10, bottom = 24;
  const n = values.length;
  const x = (i) => left + (n <= 1 ? 0 : (i / (n - 1)) * (W - left - right));
  const y = (v) => top + (1 - v) * (H - top - bottom);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "probability of the label after each token");
  const add = (name, attrs, parent = svg) => {
    const el = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    parent.append(el);
    return el;
  };
  add("line", { x1: left, y1: y(0), x2: W - right, y2: y(0), class: "axis" });
  add("line", { x1: left, y1: y(1), x2: left, y2: y(0), class: "axis" });
  add("line", { x1: left, y1: y(0.5), x2: W - right, y2: y(0.5), class: "midline" });
  for (const v of [0, 0.5, 1]) {
    add("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }).textContent = String(v);
  }
  add("text", { x: left, y: H - 6, class: "tick" }).textContent = "first token";
  add("text", { x: W - right, y: H - 6, "text-anchor": "end", class: "tick" }).textContent = `token ${n}`;

  // One path per run of defined values (a gap where the trajectory is undefined).
  let d = "", area = "", run = [];
  const flush = () => {
    if (run.length) {
      d += run.map(([i, v], k) => `${k ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("");
      area += `M${x(run[0][0]).toFixed(1)},${y(0)}` +
        run.map(([i, v]) => `L${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("") +
        `L${x(run[run.length - 1][0]).toFixed(1)},${y(0)}Z`;
    }
    run = [];
  };
  values.forEach((v, i) => (v === null || Number.isNaN(v) ? flush() : run.push([i, v])));
  flush();
  add("path", { d: area, class: "area" });
  add("path", { d, class: "curve" });
  const marker = add("line", { x1: 0, y1: y(1), x2: 0, y2: y(0), class: "marker", visibility: "hidden", id: "trajectory-marker" });
  marker.dataset.n = String(n);
  values.forEach((v, i) => {
    if (v === null || Number.isNaN(v)) return;
    const dot = add("circle", { cx: x(i), cy: y(v), r: 3.5, class: "point" });
    add("title", {}, dot).textContent = `${tokens[i].token}: ${v.toFixed(3)}`;
  });
  state.trajectoryX = x;
  $("trajectory").replaceChildren(svg);
}

function markTrajectory(index) {
  const marker = document.getElementById("trajectory-marker");
  if (!marker || !state.trajectoryX) return;
  if (index === null) {
    marker.setAttribute("visibility", "hidden");
    return;
  }
  const xi = state.trajectoryX(index).toFixed(1);
  marker.setAttribute("x1", xi);
  marker.setAttribute("x2", xi);
  marker.setAttribute("visibility", "visible");
}

function tagColour(tag) {
  let h = 2166136261; // FNV-1a, so that similar tags get distant hues
  for (const ch of tag) h = Math.imul(h ^ ch.codePointAt(0), 16777619) >>> 0;
  return `hsl(${h % 360}, 70%, 86%)`;
}

function renderTags(prediction) {
  resetResult();
  const words = $("words");
  prediction.tokens.forEach((tok, i) => {
    const box = document.createElement("span");
    box.className = "tagged";
    const t = document.createElement("span");
    t.className = "tok";
    t.textContent = tok;
    const g = document.createElement("span");
    g.className = "tag";
    g.textContent = prediction.tags[i];
    g.style.backgroundColor = tagColour(prediction.tags[i]);
    box.append(t, g);
    words.append(box);
  });
}

function renderOutput(prediction) {
  resetResult();
  $("output").hidden = false;
  $("output").textContent = prediction.output;
}

// ---------------------------------------------------------------- files

// RFC 4180: fields may be quoted; "" inside quotes is a quote; newlines inside quotes are kept.
function parseDelimited(text, delim) {
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === delim) { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ""));
}

function csvField(value) {
  const s = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

function pickColumn(header, rows) {
  const names = header.map((h) => h.trim().toLowerCase());
  for (const want of ["text", "review", "sentence", "input", "source"]) {
    const i = names.indexOf(want);
    if (i >= 0) return i;
  }
  let best = 0, bestLength = -1;
  header.forEach((_, i) => {
    const length = rows.slice(0, 50).reduce((sum, r) => sum + (r[i] || "").length, 0);
    if (length > bestLength) { best = i; bestLength = length; }
  });
  return best;
}

async function readFile() {
  const file = $("file").files[0];
  const status = $("file-status");
  state.table = null;
  $("predict-file").disabled = true;
  $("column").disabled = true;
  $("column").replaceChildren();
  $("file-preview").hidden = true;
  if (!file) return;
  if (file.size > MAX_FILE_BYTES) {
    setStatus(status, `${file.name} is larger than 50 MB; use the command line: rnnlab predict --file`, true);
    return;
  }
  let text = await file.text();
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let header, rows;
  if (/\.txt$/i.test(file.name) || file.type === "text/plain") {
    header = ["text"];
    rows = text.split(/\r\n|\n|\r/).filter((line) => line.trim() !== "").map((line) => [line]);
  } else {
    const all = parseDelimited(text, /\.tsv$/i.test(file.name) ? "\t" : ",");
    if (all.length < 2) {
      setStatus(status, `${file.name} has no rows under its header; a CSV needs a header row, then one row per text`, true);
      return;
    }
    [header, ...rows] = all;
  }
  if (!rows.length) {
    setStatus(status, `${file.name} is empty`, true);
    return;
  }
  const column = $("column");
  header.forEach((name, i) => {
    const opt = document.createElement("option");
    opt.value = String(i);
    opt.textContent = name || `column ${i + 1}`;
    column.append(opt);
  });
  column.value = String(pickColumn(header, rows));
  column.disabled = header.length < 2;
  state.table = { name: file.name, header, rows };
  $("predict-file").disabled = false;
  setStatus(status, `${file.name}: ${rows.length.toLocaleString("en")} rows`);
}

// Batches that fit the server's limits: texts per request and body bytes.
function batches(texts, limits) {
  const encoder = new TextEncoder();
  const maxBytes = Math.floor(limits.max_body_bytes * 0.95) - 32;
  const out = [];
  let current = [], bytes = 0;
  texts.forEach((text, i) => {
    const size = encoder.encode(JSON.stringify(text)).length + 1;
    if (current.length && (current.length >= limits.max_texts || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  if (current.length) out.push(current);
  return out;
}

function resultColumns(kind) {
  if (kind === "tagger") return ["tagged"];
  if (kind === "seq2seq") return ["output"];
  return ["label", "score"];
}

function resultCells(kind, p) {
  if (!p) return resultColumns(kind).map(() => "");
  if (kind === "tagger") return [p.tokens.map((t, i) => `${t}/${p.tags[i]}`).join(" ")];
  if (kind === "seq2seq") return [p.output];
  return [p.label, p.score];
}

async function predictFile() {
  const table = state.table;
  const status = $("file-status");
  if (!table) return;
  if (!state.info) await loadModel();
  if (!state.info) return;
  const { kind, limits } = state.info;
  const col = Number($("column").value);
  const texts = table.rows.map((r) => r[col] ?? "");
  const tooLong = texts.findIndex((t) => t.length > limits.max_text_chars);
  if (tooLong >= 0) {
    setStatus(status, `row ${tooLong + 1} has ${texts[tooLong].length.toLocaleString("en")} characters; the server takes at most ${limits.max_text_chars.toLocaleString("en")} per text`, true);
    return;
  }
  $("predict-file").disabled = true;
  const results = new Array(texts.length);
  const plan = batches(texts, limits);
  let done = 0;
  try {
    for (const idx of plan) {
      setStatus(status, `predicting… ${done.toLocaleString("en")} / ${texts.length.toLocaleString("en")}`);
      const r = await api("predict", { texts: idx.map((i) => texts[i]) });
      if (!r.ok) {
        setStatus(status, `stopped at row ${idx[0] + 1}: ${r.detail}`, true);
        return;
      }
      r.data.predictions.forEach((p, k) => { results[idx[k]] = p; });
      done += idx.length;
    }
  } finally {
    $("predict-file").disabled = false;
  }
  const header = [...table.header, ...resultColumns(kind)];
  const lines = [header.map(csvField).join(",")];
  table.rows.forEach((row, i) => {
    const cells = table.header.map((_, j) => row[j] ?? "");
    lines.push([...cells, ...resultCells(kind, results[i])].map(csvField).join(","));
  });
  const name = table.name.replace(/\.(csv|tsv|txt)$/i, "") + ".predictions.csv";
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  setStatus(status, `${texts.length.toLocaleString("en")} predictions in ${name} (downloaded)`);
  showPreview(header, table, results, kind, col);
}

function showPreview(header, table, results, kind, col) {
  const preview = $("file-preview");
  const keep = [col, ...resultColumns(kind).map((_, k) => table.header.length + k)];
  const head = document.createElement("tr");
  for (const j of keep) {
    const th = document.createElement("th");
    th.textContent = header[j];
    head.append(th);
  }
  const body = table.rows.slice(0, 5).map((row, i) => {
    const cells = [...table.header.map((_, j) => row[j] ?? ""), ...resultCells(kind, results[i])];
    const tr = document.createElement("tr");
    for (const j of keep) {
      const td = document.createElement("td");
      const v = cells[j];
      td.textContent = typeof v === "number" ? v.toFixed(3) : v;
      tr.append(td);
    }
    return tr;
  });
  preview.replaceChildren(head, ...body);
  preview.hidden = false;
}

// ---------------------------------------------------------------- wiring

document.addEventListener("DOMContentLoaded", () => {
  $("run").addEventListener("click", runText);
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) runText();
  });
  $("file").addEventListener("change", readFile);
  $("predict-file").addEventListener("click", predictFile);
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.apiKey = $("api-key").value.trim();
    sessionStorage.setItem(KEY_STORE, state.apiKey);
    $("key-card").hidden = true;
    loadModel();
  });
  loadModel();
});
