// The draw-a-digit page. Every value from the server is shown with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const pad = $("pad");
const ctx = pad.getContext("2d");
const READ_AFTER_MS = 700; // read the drawing this long after the last stroke ends
let strokeId = null;
let last = null;
let inked = false;
let timer = null;
let current = null; // the latest answer, for "that's wrong"

function setState(state) { document.body.dataset.state = state; }

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = 18;
  ctx.strokeStyle = "#000";
  inked = false;
  clearTimeout(timer);
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width,
          (event.clientY - box.top) * pad.height / box.height];
}

function segment(from, to) {
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
  inked = true;
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  strokeId = event.pointerId;
  last = point(event);
  segment(last, last);
  clearTimeout(timer);
  setState("drawing");
});

pad.addEventListener("pointermove", (event) => {
  if (event.pointerId !== strokeId) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of (events.length ? events : [event])) {
    const next = point(each);
    segment(last, next);
    last = next;
  }
});

function endStroke(event) {
  if (event.pointerId !== strokeId) return;
  strokeId = null;
  clearTimeout(timer);
  setState("waiting");
  timer = setTimeout(readPad, READ_AFTER_MS);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function readPad() {
  // Send the pad at half size: plenty for a 28x28 digit, and a quarter of the pixels to read.
  clearTimeout(timer);
  const half = document.createElement("canvas");
  half.width = pad.width / 2;
  half.height = pad.height / 2;
  const small = half.getContext("2d");
  small.imageSmoothingQuality = "high";
  small.drawImage(pad, 0, 0, half.width, half.height);
  half.toBlob((blob) => send(blob, "image/png"), "image/png");
}

function readFile(file) {
  if (!file) return;
  createImageBitmap(file).then((bitmap) => {
    clearPad();
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * scale, h = bitmap.height * scale;
    ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  }).catch(() => clearPad());
  const form = new FormData();
  form.append("file", file, file.name);
  send(form, null);
}

async function send(body, type) {
  setState("reading");
  const headers = type ? { "Content-Type": type } : {};
  try {
    const response = await fetch("/api/predict", { method: "POST", body, headers });
    const data = await response.json();
    if (!response.ok) showError(data.error || response.statusText);
    else showAnswer(data);
  } catch (error) {
    showError(String(error));
  }
  loadRecent();
}

function showError(message) {
  current = null;
  $("answer").textContent = "error";
  $("answer").className = "answer error";
  $("reason").textContent = message;
  $("pieces").replaceChildren();
  $("feedback").hidden = true;
  setState("error");
}

function percent(p) { return (100 * p).toFixed(1) + "%"; }

function showAnswer(data) {
  current = data;
  const p = data.prediction;
  const answer = $("answer");
  if (p.rejected) {
    answer.textContent = "not a digit";
    answer.className = "answer rejected";
  } else if (p.digits !== null) {
    answer.textContent = p.digits + "  (" + percent(p.confidence) + ")";
    answer.className = "answer";
  } else {
    answer.textContent = p.digit + " (" + p.name + ")  " + percent(p.confidence);
    answer.className = "answer";
  }
  const notes = [];
  if (p.reason) notes.push(p.reason);
  if (p.low_confidence && !p.rejected) notes.push("low confidence: please check");
  $("reason").textContent = notes.join(" / ");
  $("pieces").replaceChildren(...data.pieces.map(pieceFigure));
  showFeedback(data);
  setState("done");
}

function pieceFigure(piece, index) {
  const figure = el("figure");
  const image = el("img");
  image.src = piece.image; // a data:image/png URL the server encoded
  image.alt = "the 28x28 image the model saw";
  figure.append(image, el("figcaption", "digit " + (index + 1) + ": " + piece.digit));
  for (const t of piece.top_k) {
    const row = el("div", null, "bar");
    const track = el("div", null, "track");
    const fill = el("div", null, "fill");
    fill.style.width = percent(t.probability);
    track.append(fill);
    row.append(el("span", t.digit), track, el("span", percent(t.probability)));
    figure.append(row);
  }
  return figure;
}

function showFeedback(data) {
  const choice = $("piece");
  choice.replaceChildren(...data.pieces.map((_, i) => {
    const option = el("option", i + 1);
    option.value = String(i);
    return option;
  }));
  $("piece-choice").hidden = data.pieces.length < 2;
  $("number-choice").hidden = data.pieces.length < 2;
  $("number").value = data.pieces.map((piece) => piece.digit).join("");
  $("feedback-status").textContent = "";
  $("feedback").hidden = false;
}

async function sendFeedback(label, number = null) {
  if (!current) return;
  const body = number === null
    ? { prediction_id: current.id, piece: Number($("piece").value || 0), label }
    : { prediction_id: current.id, number };
  body.reviewer = $("reviewer").value;
  const response = await fetch("/api/feedback", {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
  });
  const data = await response.json();
  $("feedback-status").textContent = response.ok
    ? "Thanks: saved as " + data.label + " (feedback " + data.id + ")"
    : "Not saved: " + data.error;
}

function answerOf(record) {
  if (record.error) return "error: " + record.error;
  if (record.rejected) return "not a digit";
  if (record.digits !== null && record.digits !== undefined) return record.digits;
  return record.digit !== null && record.digit !== undefined ? record.digit : "-";
}

async function loadRecent() {
  const response = await fetch("/api/recent?n=12");
  if (!response.ok) return;
  const data = await response.json();
  $("recent").replaceChildren(...data.predictions.map((r) => {
    const row = el("tr");
    const confidence = typeof r.confidence === "number" ? percent(r.confidence) : "";
    for (const value of [r.time, r.source, r.input, answerOf(r), confidence, r.model]) {
      row.append(el("td", value === undefined || value === null ? "" : value));
    }
    return row;
  }));
}

async function loadChampion() {
  const response = await fetch("/api/champion");
  const data = await response.json();
  if (!response.ok) { $("champion").textContent = data.error; return; }
  const acc = (v) => (typeof v === "number" ? percent(v) : "n/a");
  const parts = ["champion " + data.run_id, "validation " + acc(data.val_accuracy),
    "hidden test " + acc(data.hidden_test_accuracy)];
  if (data.profile) parts.push("profile " + data.profile);
  if (data.architecture) parts.push(data.architecture);
  parts.push(data.gate ? "not-a-digit gate on" : "no not-a-digit gate");
  if (data.version) parts.push("version " + data.version);
  if (data.mlflow_run_id) parts.push("MLflow run " + data.mlflow_run_id);
  $("champion").textContent = parts.join("  ·  ");
  const url = data.prefect_flow_run_url;
  if (typeof url === "string" && /^https?:\/\//.test(url)) {  // never a javascript: link
    const link = document.createElement("a");
    link.href = url;
    link.textContent = "its Prefect run";
    link.rel = "noopener";
    $("champion").append("  ·  ", link);
  }
}

function setup() {
  clearPad();
  $("clear").addEventListener("click", () => { clearPad(); setState("idle"); });
  $("read").addEventListener("click", readPad);
  $("file").addEventListener("change", (event) => readFile(event.target.files[0]));
  const labels = [...Array(10).keys()].map(String).concat(["not a digit"]);
  $("number-choice").addEventListener("submit", (event) => {
    event.preventDefault();
    sendFeedback(null, $("number").value);
  });
  $("labels").replaceChildren(...labels.map((label) => {
    const button = el("button", label);
    button.type = "button";
    button.dataset.label = label;
    button.addEventListener("click", () => sendFeedback(label));
    return button;
  }));
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    readFile(event.dataTransfer.files[0]);
  });
  loadChampion();
  loadRecent();
}

setup();
