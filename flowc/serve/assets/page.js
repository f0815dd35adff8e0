// The live page of a flowc run: reads frames from /events (server-sent events) and draws the
// graph's figures, the tables, the observers' plots and, at the end, the summary. No library.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const TOKEN = new URLSearchParams(location.search).get("token") || "";
const KIND_RATE = { importer: "rate_out" }; // which rate a worker shows (default: rate_in)
const $ = (id) => document.getElementById(id);

let last = null; // the latest frame
let graph = null; // {nodes: Map name -> {g, box}, edges: Map "a->b" -> text element}
let busyControl = false;

// --- numbers ----------------------------------------------------------------------------------

function count(n) {
  return n == null ? "–" : Number(n).toLocaleString("en-US");
}

function short(v) {
  // 881, 12.3 k, 4.50 M: three figures at most
  const a = Math.abs(v);
  if (a >= 999.5e6) return (v / 1e9).toPrecision(3) + " G";
  if (a >= 999.5e3) return (v / 1e6).toPrecision(3) + " M";
  if (a >= 999.5) return (v / 1e3).toPrecision(3) + " k";
  if (a >= 100 || v === 0) return v.toFixed(0);
  return v.toPrecision(3);
}

function rate(v) {
  return v == null ? "–" : short(v) + "/s";
}

function percent(f) {
  return f == null ? "–" : Math.round(100 * f) + " %";
}

function seconds(s) {
  if (s == null) return "–";
  if (s < 1e-3) return "0 s";
  if (s < 1) return (1000 * s).toFixed(0) + " ms";
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
  const m = Math.floor(s / 60);
  return `${m} min ${Math.floor(s - 60 * m)} s`;
}

function tick(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

function niceTicks(lo, hi, wanted) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / wanted;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(v);
  return ticks;
}

// --- small DOM and SVG helpers ----------------------------------------------------------------

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

function meter(fraction) {
  const box = el("div", { class: "meter" });
  const fill = el("span");
  const label = el("em");
  box.append(fill, label);
  setMeter(box, fraction);
  return box;
}

function setMeter(box, fraction) {
  const fill = box.firstChild;
  const f = fraction == null ? 0 : Math.max(0, Math.min(1, fraction));
  fill.style.width = (100 * f).toFixed(1) + "%";
  fill.className = f >= 0.9 ? "high" : f >= 0.6 ? "mid" : "";
  box.lastChild.textContent = fraction == null ? "–" : percent(fraction);
}

// --- the graph --------------------------------------------------------------------------------

async function loadGraph() {
  const response = await fetch("/graph.svg");
  if (!response.ok) return;
  const holder = $("graph");
  holder.innerHTML = await response.text();
  const picture = holder.querySelector("svg");
  if (!picture) return;
  const width = parseFloat(picture.getAttribute("width"));
  if (width) picture.style.maxWidth = Math.round(width * 1.4) + "px";
  picture.removeAttribute("height");
  picture.setAttribute("width", "100%");
  picture.querySelectorAll("title").forEach((t) => {
    if (t.parentNode === picture || t.parentNode.classList.contains("graph")) t.remove();
  });
  const nodes = new Map();
  const edges = new Map();
  for (const g of picture.querySelectorAll("g.node")) {
    const name = g.querySelector("title").textContent;
    const shape = g.querySelector("path, polygon, ellipse, rect");
    if (shape) shape.classList.add("shape");
    const box = g.getBBox();
    // the label's second line holds the figures (Graphviz left room for it)
    const texts = g.querySelectorAll("text");
    const line = texts.length > 1 ? texts[texts.length - 1] : null;
    if (line) {
      line.setAttribute("class", "fc-figure");
      line.textContent = "";
    }
    // a buffer fills from the bottom like a tank: a rect drawn over its shape, under its text
    const level = svg("rect", { class: "fc-level", x: box.x + 1.5, width: Math.max(box.width - 3, 0), rx: 3 });
    if (shape) shape.after(level);
    nodes.set(name, { g, box, shape, line, level });
  }
  for (const g of picture.querySelectorAll("g.edge")) {
    const key = g.querySelector("title").textContent;
    let text = g.querySelector("text");
    if (!text) {
      const path = g.querySelector("path");
      const mid = path.getPointAtLength(path.getTotalLength() / 2);
      text = svg("text", { x: mid.x, y: mid.y - 5, "text-anchor": "middle" });
      g.appendChild(text);
    }
    text.setAttribute("class", "fc-rate");
    text.textContent = "";
    edges.set(key, text);
  }
  graph = { nodes, edges };
  if (last) drawGraph(last);
}

function shade(fraction) {
  // green when little is used, amber half full, red when full
  const f = Math.max(0, Math.min(1, fraction || 0));
  const mix = (a, b, t) => Math.round(a + (b - a) * t);
  const [from, to, t] = f < 0.5
    ? [[178, 236, 190], [255, 214, 120], f / 0.5]
    : [[255, 214, 120], [255, 130, 130], (f - 0.5) / 0.5];
  return `rgb(${mix(from[0], to[0], t)},${mix(from[1], to[1], t)},${mix(from[2], to[2], t)})`;
}

function drawGraph(frame) {
  if (!graph) return;
  const limit = frame.bottleneck ? frame.bottleneck.worker : null;
  for (const b of frame.buffers) {
    const node = graph.nodes.get(b.name);
    if (!node) continue;
    const { box, level, line } = node;
    const ratio = b.consumed === false || b.fill_ratio == null ? 0 : b.fill_ratio;
    if (line) {
      line.textContent = b.consumed === false ? "not consumed"
        : `${b.fill == null ? "–" : b.fill}/${b.slots} full`;
    }
    const height = Math.max(box.height - 3, 0) * ratio;
    level.setAttribute("y", (box.y + box.height - 1.5 - height).toFixed(1));
    level.setAttribute("height", height.toFixed(1));
    level.setAttribute("fill", shade(ratio));
  }
  for (const w of frame.workers) {
    const node = graph.nodes.get(w.name);
    if (!node) continue;
    const { g, line } = node;
    const parts = [rate(w[KIND_RATE[w.kind] || "rate_in"])];
    if (w.busy != null && w.kind !== "observer") parts.push("busy " + percent(w.busy));
    if (w.errors) parts.push(`${count(w.errors)} errors`);
    if (line) line.textContent = parts.join(" · ");
    g.classList.toggle("fc-limit", w.name === limit);
    g.classList.toggle("fc-idle", w.running === 0 && frame.running);
  }
  for (const e of frame.edges) {
    const text = graph.edges.get(`${e.from}->${e.to}`);
    if (text) text.textContent = e.rate == null ? "" : rate(e.rate);
  }
}

// --- the tables -------------------------------------------------------------------------------

function keyedRow(table, key, build) {
  const body = table.tBodies[0];
  let row = body.querySelector(`tr[data-key="${CSS.escape(key)}"]`);
  if (!row) {
    row = build();
    row.dataset.key = key;
    body.appendChild(row);
  }
  return row;
}

function drawWorkers(frame) {
  const table = $("workers");
  const limit = frame.bottleneck ? frame.bottleneck.worker : null;
  for (const w of frame.workers) {
    const row = keyedRow(table, w.name, () => {
      const tr = el("tr", { "data-worker": w.name });
      const name = el("td", { class: "name" });
      name.append(el("span", { class: "dot" }), document.createTextNode(w.name));
      const kind = w.processes > 1 ? `${w.kind} ×${w.processes}` : w.kind;
      tr.append(
        name, el("td", { class: "kind" }, kind),
        el("td", { class: "num events-in" }), el("td", { class: "num events-out" }),
        el("td", { class: "num rate" }), el("td", { class: "trend" }), el("td", { class: "busy" }),
        el("td", { class: "num blocked" }), el("td", { class: "num errors" }),
      );
      tr.querySelector(".busy").appendChild(meter(null));
      tr.querySelector(".trend").appendChild(svg("svg", { class: "spark", viewBox: `0 0 ${TREND} 20` }));
      return tr;
    });
    const shown = w[KIND_RATE[w.kind] || "rate_in"];
    const cells = (c) => row.querySelector("." + c);
    cells("events-in").textContent = w.kind === "importer" ? "–" : count(w.events_in);
    cells("events-in").dataset.value = w.events_in;
    cells("events-out").textContent = w.kind === "observer" ? "–" : count(w.events_out);
    cells("events-out").dataset.value = w.events_out;
    cells("rate").textContent = rate(shown);
    cells("rate").dataset.value = shown == null ? "" : shown;
    if (frame.running) drawTrend(cells("trend").firstChild, w.name, shown);
    setMeter(cells("busy").firstChild, w.kind === "observer" ? null : w.busy);
    cells("blocked").textContent = seconds(w.blocked_s);
    cells("blocked").title = w.blocked_share == null ? "" : `${percent(w.blocked_share)} of the last second`;
    cells("errors").textContent = count(w.errors);
    cells("errors").classList.toggle("some", w.errors > 0);
    row.querySelector(".dot").classList.toggle("on", !!w.running);
    row.classList.toggle("limit", w.name === limit);
    row.classList.toggle("done", frame.running && w.running === 0);
  }
}

const TREND = 120; // frames in a worker's rate trend: 30 s at four a second
const trends = new Map(); // worker -> its latest rates

function drawTrend(picture, name, value) {
  const values = trends.get(name) || [];
  values.push(value == null ? 0 : value);
  if (values.length > TREND) values.shift();
  trends.set(name, values);
  const top = Math.max(...values) || 1;
  const points = values.map((v, i) => `${TREND - values.length + i},${(19 - (17 * v) / top).toFixed(1)}`);
  picture.replaceChildren(svg("polyline", { points: points.join(" ") }));
  picture.setAttribute("aria-label", `rate over the last ${Math.round(values.length / 4)} s`);
}

function drawBuffers(frame) {
  const table = $("buffers");
  for (const b of frame.buffers) {
    const row = keyedRow(table, b.name, () => {
      const tr = el("tr", { "data-buffer": b.name });
      tr.append(
        el("td", { class: "name" }, b.name), el("td", { class: "fill" }),
        el("td", { class: "num rate" }), el("td", { class: "num written" }),
        el("td", { class: "num dropped" }),
      );
      tr.querySelector(".fill").appendChild(meter(null));
      return tr;
    });
    const fill = row.querySelector(".fill");
    setMeter(fill.firstChild, b.consumed === false ? null : b.fill_ratio);
    fill.title = b.consumed === false ? "nobody consumes it: its writers overwrite the oldest slot"
      : `${b.fill == null ? "–" : b.fill} of ${b.slots} slots hold events`;
    row.querySelector(".rate").textContent = rate(b.rate);
    row.querySelector(".written").textContent = count(b.written);
    row.querySelector(".dropped").textContent = count(b.dropped);
    row.querySelector(".dropped").classList.toggle("errors", b.dropped > 0);
    row.querySelector(".dropped").classList.toggle("some", b.dropped > 0);
  }
}

// --- the observers' plots ---------------------------------------------------------------------

const PLOT_W = 480;
const PLOT_H = 210;
const PAD = { left: 52, right: 12, top: 10, bottom: 28 };
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];

function axes(picture, xlo, xhi, ylo, yhi, xlabel) {
  const w = PLOT_W - PAD.left - PAD.right;
  const h = PLOT_H - PAD.top - PAD.bottom;
  const sx = (x) => PAD.left + ((x - xlo) / (xhi - xlo || 1)) * w;
  const sy = (y) => PAD.top + h - ((y - ylo) / (yhi - ylo || 1)) * h;
  for (const y of niceTicks(ylo, yhi, 4)) {
    picture.append(
      svg("line", { class: "grid", x1: PAD.left, x2: PAD.left + w, y1: sy(y), y2: sy(y) }),
      svg("text", { class: "tick", x: PAD.left - 6, y: sy(y) + 3, "text-anchor": "end" }, tick(y)),
    );
  }
  for (const x of niceTicks(xlo, xhi, 6)) {
    picture.append(
      svg("line", { class: "axis", x1: sx(x), x2: sx(x), y1: PAD.top + h, y2: PAD.top + h + 4 }),
      svg("text", { class: "tick", x: sx(x), y: PAD.top + h + 15, "text-anchor": "middle" }, tick(x)),
    );
  }
  picture.append(
    svg("line", { class: "axis", x1: PAD.left, x2: PAD.left + w, y1: PAD.top + h, y2: PAD.top + h }),
    svg("line", { class: "axis", x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: PAD.top + h }),
  );
  if (xlabel) {
    picture.append(svg("text", { class: "tick", x: PAD.left + w, y: PLOT_H - 2, "text-anchor": "end" }, xlabel));
  }
  return { sx, sy };
}

function range(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

function drawHistogram(picture, doc, card) {
  const counts = (doc.counts || []).map(Number);
  let edges = (doc.edges || []).map(Number);
  if (edges.length !== counts.length + 1) {
    const [lo, hi] = doc.range || [0, counts.length];
    edges = counts.map((_, i) => lo + ((hi - lo) * i) / counts.length).concat([hi]);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  card.dataset.total = total;
  const top = Math.max(1, ...counts) * 1.05;
  const { sx, sy } = axes(picture, edges[0], edges[edges.length - 1], 0, top, doc.field || doc.label || "");
  counts.forEach((c, i) => {
    const x = sx(edges[i]);
    const width = Math.max(0.5, sx(edges[i + 1]) - x - 0.6);
    picture.append(svg("rect", { class: "hist-bar", x, y: sy(c), width, height: Math.max(0, sy(0) - sy(c)) }));
  });
  const extra = [];
  if (doc.underflow) extra.push(`${count(doc.underflow)} below`);
  if (doc.overflow) extra.push(`${count(doc.overflow)} above`);
  return `${count(total)} entries` + (extra.length ? ` (${extra.join(", ")} the range)` : "");
}

function asTraces(item) {
  // a trace: a list of numbers, or an object with y (or values, samples) and maybe x
  if (Array.isArray(item)) {
    if (item.length && Array.isArray(item[0])) return item.flatMap(asTraces);
    return [{ y: item.map(Number) }];
  }
  if (item && typeof item === "object") {
    if (Array.isArray(item.channels)) return item.channels.flatMap(asTraces);
    const y = item.y || item.values || item.samples;
    if (Array.isArray(y)) return [{ y: y.map(Number), x: item.x, label: item.label || item.channel }];
  }
  return [];
}

function drawScope(picture, doc) {
  const events = (doc.traces || []).map(asTraces).filter((t) => t.length);
  if (!events.length) return "no traces yet";
  const step = Number(doc.sample_time) || 1;
  const xs = (t) => (t.x ? t.x.map(Number) : t.y.map((_, i) => i * step));
  const all = events.flat();
  const [xlo, xhi] = range(all.flatMap(xs));
  const [ylo, yhi] = range(all.flatMap((t) => t.y));
  const pad = (yhi - ylo) * 0.05;
  const { sx, sy } = axes(picture, xlo, xhi, ylo - pad, yhi + pad, doc.unit ? `time (${doc.unit})` : "sample");
  events.forEach((traces, age) => {
    const newest = age === events.length - 1;
    traces.forEach((t, channel) => {
      const x = xs(t);
      const points = t.y.map((y, i) => `${sx(x[i]).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      picture.append(svg("polyline", {
        points, fill: "none", stroke: COLOURS[channel % COLOURS.length],
        "stroke-width": newest ? 1.4 : 0.8, "stroke-opacity": newest ? 1 : 0.25,
      }));
    });
  });
  return `${events.length} latest event${events.length === 1 ? "" : "s"}, the newest bright`;
}

function asCurves(series) {
  // {name: curve} or one curve; a curve: [[t, v], ...], [v, ...] or {t: [...], rate|values: [...]}
  const curve = (c) => {
    if (Array.isArray(c)) {
      return c.map((p, i) => (Array.isArray(p) ? [Number(p[0]), Number(p[1])] : [i, Number(p)]));
    }
    if (c && Array.isArray(c.t)) {
      const v = c.rate || c.values || c.v || c.y || [];
      return c.t.map((t, i) => [Number(t), Number(v[i])]);
    }
    return null;
  };
  const one = curve(series);
  if (one) return { rate: one };
  const curves = {};
  for (const [name, c] of Object.entries(series || {})) {
    const points = curve(c);
    if (points) curves[name] = points;
  }
  return curves;
}

function drawRate(picture, doc) {
  const curves = asCurves(doc.series);
  const names = Object.keys(curves);
  const points = names.flatMap((n) => curves[n]);
  if (!points.length) return "no rate measured yet";
  const [xlo, xhi] = range(points.map((p) => p[0]));
  const [, yhi] = range(points.map((p) => p[1]));
  const { sx, sy } = axes(picture, xlo, xhi, 0, Math.max(yhi, 1) * 1.1, "time (s)");
  names.forEach((name, k) => {
    const line = curves[name].map(([t, v]) => `${sx(t).toFixed(1)},${sy(v).toFixed(1)}`).join(" ");
    picture.append(svg("polyline", { points: line, fill: "none", stroke: COLOURS[k % COLOURS.length], "stroke-width": 1.6 }));
  });
  const latest = names.map((n) => `${names.length > 1 ? n + " " : ""}${rate(curves[n][curves[n].length - 1][1])}`);
  return `now ${latest.join(", ")}`;
}

function drawPlots(frame) {
  const holder = $("plots");
  const names = Object.keys(frame.plots || {}).sort();
  $("plots-empty").hidden = names.length > 0;
  for (const name of names) {
    const doc = frame.plots[name];
    let card = holder.querySelector(`[data-plot="${CSS.escape(name)}"]`);
    if (!card) {
      card = el("div", { class: "plot", "data-plot": name });
      card.append(el("h3"), el("div", { class: "meta" }), svg("svg", { viewBox: `0 0 ${PLOT_W} ${PLOT_H}` }));
      holder.appendChild(card);
    }
    card.dataset.kind = doc.kind;
    const title = card.querySelector("h3");
    title.textContent = doc.title || name;
    title.appendChild(el("small", {}, doc.kind || ""));
    const picture = card.querySelector("svg");
    picture.replaceChildren();
    let meta;
    if (doc.kind === "histogram") meta = drawHistogram(picture, doc, card);
    else if (doc.kind === "scope") meta = drawScope(picture, doc);
    else if (doc.kind === "rate") meta = drawRate(picture, doc);
    else meta = `a ${doc.kind || "document"} the page does not draw`;
    if (doc.seen != null) {
      meta += ` · saw ${count(doc.seen)}` + (doc.of != null ? ` of ${count(doc.of)} events` : " events");
    }
    card.querySelector(".meta").textContent = meta;
  }
}

// --- the frame --------------------------------------------------------------------------------

function drawFrame(frame) {
  last = frame;
  document.title = `flowc · ${frame.pipeline || "run"} · ${frame.state}`;
  $("pipeline").textContent = frame.pipeline || "(unnamed pipeline)";
  const state = $("state");
  state.textContent = frame.running ? frame.state : `${frame.state}, exit ${frame.exit}`;
  state.dataset.state = frame.state;
  $("elapsed").textContent = seconds(frame.elapsed);
  const b = $("bottleneck");
  b.hidden = !frame.bottleneck;
  if (frame.bottleneck) {
    // `name` in the text is a worker or buffer: shown as code
    const parts = frame.bottleneck.text.split("`").map((part, i) =>
      i % 2 ? el("code", {}, part) : document.createTextNode(part));
    b.replaceChildren(el("b", {}, "Bottleneck: "), ...parts);
  }
  if (frame.failure) notify(`${frame.failure.worker} failed: ${frame.failure.message}`, true);
  drawGraph(frame);
  drawWorkers(frame);
  drawBuffers(frame);
  drawPlots(frame);
  const summary = $("summary-card");
  summary.hidden = !frame.summary;
  if (frame.summary) $("summary").textContent = frame.summary;
  setControls(frame);
}

function setControls(frame) {
  const can = TOKEN && frame.running && !busyControl;
  $("pause").disabled = !can || frame.paused || frame.state === "stopping";
  $("resume").disabled = !can || !frame.paused;
  $("stop").disabled = !can || frame.state === "stopping";
  const why = TOKEN ? "" : "open the address with ?token=… that flowc run printed to steer the run";
  for (const id of ["pause", "resume", "stop"]) $(id).title = why;
}

function notify(text, error = false) {
  const box = $("notice");
  box.textContent = text;
  box.className = error ? "notice error" : "notice";
  box.hidden = !text;
}

async function control(action) {
  busyControl = true;
  if (last) setControls(last);
  try {
    const response = await fetch(`/control/${action}`, {
      method: "POST",
      headers: { Authorization: `token ${TOKEN}` },
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) notify(`${action}: ${answer.error || response.statusText}`, true);
    else notify(action === "stop" ? "Stopping: the importers stop and the graph drains." : "");
  } catch (error) {
    notify(`${action}: ${error}`, true);
  } finally {
    busyControl = false;
    if (last) setControls(last);
  }
}

function connect() {
  const link = $("link");
  const source = new EventSource("/events");
  source.onopen = () => {
    link.dataset.link = "live";
    link.title = "receiving the run's figures";
  };
  source.onmessage = (event) => {
    link.dataset.link = "live";
    drawFrame(JSON.parse(event.data));
  };
  source.onerror = () => {
    link.dataset.link = "lost";
    if (last && !last.running) {
      source.close(); // the server stopped after the run: this page keeps the final figures
      link.title = "the run has ended and its server has stopped";
      notify("The run has ended and flowc has stopped serving: these are its final figures.");
    } else {
      link.title = "connection lost; trying again";
    }
  };
}

for (const id of ["pause", "resume", "stop"]) {
  $(id).addEventListener("click", () => control($(id).dataset.action));
}
loadGraph();
connect();
