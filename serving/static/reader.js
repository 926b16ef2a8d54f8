/* Slant reader: plain JS, no build step, nothing loaded from elsewhere.
 *
 * POST /classify with the article, render the answer paragraph by paragraph (stance tint toward the
 * picked target, loaded-word underlines, frame chips, technique badges), a summary panel, label
 * corrections sent to POST /feedback, and JSON / CSV downloads.
 *
 * Offsets in the answer (paragraph start/end, loaded-word spans) count Unicode code points (Python
 * string indices); JS strings index UTF-16 units, so spans are cut with Array.from(text).
 */
"use strict";

(function () {
  const UNSURE_BELOW = 0.5; // top stance probability under this: the paragraph looks unsure
  const KEY_STORAGE = "slant.apiKey";
  const ANNOTATOR_STORAGE = "slant.annotator";
  const STANCES = ["favor", "neutral", "against"];

  // A fictional local-news story, written for this page.
  const SAMPLE = {
    title: "Millbrook opens riverside library after three years of delays",
    targets: ["Maria Okafor", "Brian Walsh"],
    text: [
      "The town of Millbrook opened its new riverside library on Saturday, three years after the " +
        "project was approved and 2.1 million dollars over its original budget. About 400 residents " +
        "came to the opening on Canal Street.",
      "Head librarian Maria Okafor, who took charge of the project after the first contractor walked " +
        "away, was widely praised at the event. \"Maria rescued this library,\" said volunteer Dennis " +
        "Hale. \"She is tireless, generous and the most dedicated public servant this town has had " +
        "in decades.\"",
      "Okafor's team raised 600,000 dollars from local businesses and designed a children's wing, a " +
        "workshop with 3D printers and free evening classes for adults returning to education. Visitors " +
        "on Saturday called the building bright, welcoming and a triumph for the whole community.",
      "Councillor Brian Walsh, who chairs the finance committee, faced sharp criticism over the " +
        "delays. Opponents accused him of reckless mismanagement, saying his botched tender process " +
        "and stubborn refusal to listen to residents squandered years and taxpayers' money.",
      "Walsh said in a short statement that the committee had followed the rules at every stage. The " +
        "council will review the project's accounts at its next meeting on 14 March.",
    ].join("\n\n"),
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    targets: [], // the chips
    answer: null, // the last /classify answer
    picked: 0, // index of the target the tints show
    controller: null, // AbortController of the request in flight
    articleId: "",
  };

  // ---------------------------------------------------------------------------------------
  // Small helpers
  // ---------------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.setAttribute("class", v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c) node.append(c);
    return node;
  }

  const fmt = (p) => (typeof p === "number" ? p.toFixed(2) : "–");
  const pct = (x) => `${Math.round(x * 100)}%`;
  function pretty(label) {
    const s = String(label).replace(/_/g, " ").replace(/-/g, " / ");
    return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
  }

  function hashId(text) {
    let h = 0x811c9dc5; // FNV-1a, 32 bit: a stable id grouping one article's corrections
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return "reader-" + h.toString(16).padStart(8, "0");
  }

  function storage(key, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(key);
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) {
      /* storage disabled: keys are then asked for per page load */
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------
  // Talking to the service (with the API-key path for services that ask for one)
  // ---------------------------------------------------------------------------------------

  class ServiceError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function readError(response) {
    let message = "";
    const raw = await response.text().catch(() => "");
    try {
      let body = JSON.parse(raw);
      if (Array.isArray(body) && body.length === 1) body = body[0];
      message = (body && (body.error || body.detail || body.message)) || "";
      if (typeof message !== "string") message = JSON.stringify(message);
    } catch (e) {
      message = raw.trim().slice(0, 500);
    }
    return message || response.statusText || "no message";
  }

  function askForKey(message) {
    const dialog = $("key-dialog");
    $("key-message").textContent = message
      ? `The service asks for an API key: ${message}`
      : "The service asks for an API key.";
    $("key-input").value = "";
    return new Promise((resolve) => {
      dialog.addEventListener(
        "close",
        () => resolve(dialog.returnValue === "ok" ? $("key-input").value.trim() : ""),
        { once: true },
      );
      dialog.showModal();
      $("key-input").focus();
    });
  }

  function updateKeyButton() {
    $("forget-key").hidden = !storage(KEY_STORAGE);
  }

  async function postJSON(path, payload, signal) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = { "Content-Type": "application/json", Accept: "application/json" };
      const key = storage(KEY_STORAGE);
      if (key) headers.Authorization = `Bearer ${key}`;
      let response;
      try {
        response = await fetch(path, { method: "POST", headers, body: JSON.stringify(payload), signal });
      } catch (e) {
        if (e.name === "AbortError") throw e;
        throw new ServiceError(0, `could not reach the service (${e.message}); is it running?`);
      }
      if (response.ok) return response.json();
      const message = await readError(response);
      if ((response.status === 401 || response.status === 403) && attempt === 0) {
        if (key) storage(KEY_STORAGE, null); // the stored key was refused: ask again
        const fresh = await askForKey(message);
        if (fresh) {
          storage(KEY_STORAGE, fresh);
          updateKeyButton();
          continue;
        }
      }
      if (response.status === 401 || response.status === 403) {
        storage(KEY_STORAGE, null);
        updateKeyButton();
      }
      throw new ServiceError(response.status, message);
    }
    throw new ServiceError(401, "the API key was refused");
  }

  function describeError(e) {
    if (!(e instanceof ServiceError)) return `Something went wrong in the page: ${e.message}`;
    if (e.status === 0) return `The service could not be reached: ${e.message}`;
    const what = {
      400: "The service could not use this input",
      401: "The service refused the request (API key)",
      403: "The service refused the request (API key)",
      413: "The article is too large for the service",
      503: "The model is busy or restarting; try again in a few seconds",
    }[e.status] || "The service answered with an error";
    return `${what} (HTTP ${e.status}): ${e.message}`;
  }

  // ---------------------------------------------------------------------------------------
  // Input: modes, files, targets, sample
  // ---------------------------------------------------------------------------------------

  const mode = () => document.querySelector('input[name="mode"]:checked').value;
  function setMode(value) {
    document.querySelector(`input[name="mode"][value="${value}"]`).checked = true;
  }
  const looksLikeHTML = (s) => /^\s*(<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(s) ||
    (/^\s*</.test(s) && /<\/(p|div|article|body)>/i.test(s));

  function renderChips() {
    const list = $("target-chips");
    list.replaceChildren(
      ...state.targets.map((t, i) =>
        el("li", { class: "target-chip" },
          el("span", { text: t }),
          el("button", {
            type: "button", class: "chip-remove", "aria-label": `Remove target ${t}`, text: "×",
            onclick: () => { state.targets.splice(i, 1); renderChips(); $("target-input").focus(); },
          }),
        ),
      ),
    );
    $("target-input").placeholder = state.targets.length ? "Add another target" : "Type a target, press Enter (none = automatic)";
  }

  function addTarget(raw) {
    for (const part of String(raw).split(",")) {
      const t = part.trim().replace(/\s+/g, " ");
      if (t && !state.targets.some((x) => x.toLowerCase() === t.toLowerCase())) state.targets.push(t);
    }
    renderChips();
  }

  function loadSample() {
    setMode("text");
    $("title-input").value = SAMPLE.title;
    $("article-input").value = SAMPLE.text;
    state.targets = [...SAMPLE.targets];
    renderChips();
    $("file-name").textContent = "";
    $("article-input").focus();
  }

  async function openFile(file) {
    if (!file) return;
    const text = await file.text();
    const isHTML = /\.html?$/i.test(file.name) || file.type === "text/html" || looksLikeHTML(text);
    setMode(isHTML ? "html" : "text");
    $("article-input").value = text;
    $("file-name").textContent = `${file.name} (${isHTML ? "HTML" : "text"}, ${text.length.toLocaleString()} characters)`;
  }

  // ---------------------------------------------------------------------------------------
  // Analyze
  // ---------------------------------------------------------------------------------------

  function showError(message) {
    const box = $("error");
    box.replaceChildren(el("strong", { text: "Error. " }), message);
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }
  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  async function analyze(event) {
    if (event) event.preventDefault();
    if (state.controller) return;
    clearError();
    const content = $("article-input").value;
    const article = {};
    article[mode() === "html" ? "html" : "text"] = content;
    const title = $("title-input").value.trim();
    if (title) article.title = title;
    const pending = $("target-input").value.trim();
    if (pending) {
      addTarget(pending);
      $("target-input").value = "";
    }
    if (state.targets.length) article.targets = [...state.targets];

    const estimate = mode() === "text" ? content.split(/\n\s*\n/).filter((p) => p.trim()).length : 0;
    const what = estimate ? `${estimate} paragraph${estimate === 1 ? "" : "s"}` : "the page";
    const started = performance.now();
    const progress = $("progress");
    const tick = () => {
      const s = Math.round((performance.now() - started) / 1000);
      progress.replaceChildren(el("span", { class: "spinner", "aria-hidden": "true" }),
        `Analyzing ${what}${s >= 1 ? ` · ${s} s` : ""}…`);
    };
    tick();
    const timer = setInterval(tick, 1000);
    state.controller = new AbortController();
    $("analyze-button").disabled = true;
    $("cancel-button").hidden = false;
    document.body.setAttribute("aria-busy", "true");
    try {
      const answer = await postJSON("/classify", { article }, state.controller.signal);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      state.articleId = hashId(content);
      render(answer);
      document.querySelector(".input-panel").classList.add("compact");
      $("article-input").scrollTop = 0;
      const n = answer.paragraphs.length;
      progress.textContent = `Analyzed ${n} paragraph${n === 1 ? "" : "s"} in ${seconds} s.`;
      $("results").focus({ preventScroll: false });
    } catch (e) {
      progress.textContent = "";
      if (e.name === "AbortError") progress.textContent = "Cancelled.";
      else showError(describeError(e));
    } finally {
      clearInterval(timer);
      state.controller = null;
      $("analyze-button").disabled = false;
      $("cancel-button").hidden = true;
      document.body.removeAttribute("aria-busy");
    }
  }

  // ---------------------------------------------------------------------------------------
  // The article view
  // ---------------------------------------------------------------------------------------

  function stanceOf(p) {
    const s = p.stance && p.stance[state.picked];
    if (!s) return null;
    const top = Math.max(...Object.values(s.scores));
    return { label: s.label, score: s.scores[s.label], scores: s.scores, unsure: top < UNSURE_BELOW, target: s.target };
  }

  function highlighted(text, spans) {
    // Loaded-word spans: offsets into the paragraph text, in code points.
    const chars = Array.from(text);
    const out = [];
    let at = 0;
    for (const span of [...spans].sort((a, b) => a.start - b.start)) {
      const start = Math.max(at, Math.min(span.start, chars.length));
      const end = Math.max(start, Math.min(span.end, chars.length));
      if (start > at) out.push(chars.slice(at, start).join(""));
      out.push(el("span", { class: "loaded", title: `loaded wording, score ${fmt(span.score)}`, "data-score": span.score },
        chars.slice(start, end).join("")));
      at = end;
    }
    if (at < chars.length) out.push(chars.slice(at).join(""));
    return out;
  }

  function scoreList(entries, limit) {
    return entries
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([label, p]) => `${pretty(label)} ${fmt(p)}`)
      .join(" · ");
  }

  function paragraphNode(p, i) {
    const chips = p.frames.labels.map((f) =>
      el("span", { class: "chip frame-chip", title: `frame, score ${fmt(p.frames.scores[f])}` }, pretty(f)));
    const badges = p.techniques.labels.map((t) =>
      el("span", { class: "badge technique-badge", title: `persuasion technique, score ${fmt(p.techniques.scores[t])}` }, pretty(t)));
    const biased = p.bias.label === "biased";
    const scoresId = `scores-${i}`;
    const node = el("li", {
      class: "para", tabindex: "0", "data-index": p.index, "aria-describedby": scoresId,
      "aria-label": `Paragraph ${p.index + 1}`,
    },
      el("div", { class: "para-head" },
        el("span", { class: "para-num", text: `¶ ${p.index + 1}` }),
        el("span", { class: "tag stance-tag" }),
        biased ? el("span", { class: "tag tag-biased", title: `bias score ${fmt(p.bias.score)}` }, `BIASED ${fmt(p.bias.score)}`) : null,
      ),
      el("p", { class: "para-text" }, highlighted(p.text || "", p.bias.spans || [])),
      (chips.length || badges.length) ? el("div", { class: "labels" }, chips, badges) : null,
      el("div", { class: "scores", id: scoresId, role: "note" }),
      correctionForm(p, i),
    );
    return node;
  }

  function scoresText(p) {
    const parts = [];
    const s = stanceOf(p);
    if (s) parts.push(`Stance toward “${s.target}”: favor ${fmt(s.scores.favor)}, neutral ${fmt(s.scores.neutral)}, against ${fmt(s.scores.against)}${s.unsure ? " (unsure)" : ""}.`);
    parts.push(`Bias ${fmt(p.bias.score)} (${p.bias.label})${p.bias.spans.length ? `; loaded: ${p.bias.spans.map((x) => `“${x.text}” ${fmt(x.score)}`).join(", ")}` : ""}.`);
    parts.push(`Frames: ${scoreList(Object.entries(p.frames.scores), 3) || "none"}.`);
    parts.push(`Techniques: ${scoreList(Object.entries(p.techniques.scores), 3) || "none"}.`);
    return parts;
  }

  function applyStance() {
    const answer = state.answer;
    if (!answer) return;
    document.querySelectorAll("#paragraphs .para").forEach((node, i) => {
      const p = answer.paragraphs[i];
      const s = stanceOf(p);
      node.classList.remove("stance-favor", "stance-against", "stance-neutral", "stance-none", "unsure");
      node.classList.add(s ? `stance-${s.label}` : "stance-none");
      if (s && s.unsure) node.classList.add("unsure");
      node.dataset.stance = s ? s.label : "";
      const tag = node.querySelector(".stance-tag");
      tag.className = `tag stance-tag ${s ? `tag-${s.label}` : "tag-none"}`;
      tag.textContent = s ? `${s.label.toUpperCase()}${s.unsure ? "?" : ""} ${fmt(s.score)}` : "NO TARGET";
      tag.title = s ? `stance toward ${s.target}${s.unsure ? " (unsure)" : ""}` : "no stance target";
      node.querySelector(".scores").replaceChildren(...scoresText(p).map((t) => el("span", { text: t })));
    });
    document.querySelectorAll(".stance-row").forEach((row, i) => row.classList.toggle("picked", i === state.picked));
  }

  function render(answer) {
    state.answer = answer;
    state.picked = 0;
    $("results").hidden = false;
    $("model-badge").hidden = false;
    $("model-badge").textContent = `${answer.model.name} ${answer.model.version}`;
    $("article-title").textContent = answer.title || "";
    $("article-title").hidden = !answer.title;
    $("unsure-threshold").textContent = UNSURE_BELOW.toFixed(2);

    const picker = $("target-picker");
    picker.replaceChildren(...answer.targets.map((t, i) => el("option", { value: i, text: t })));
    picker.disabled = !answer.targets.length;
    if (!answer.targets.length) picker.append(el("option", { value: "", text: "no targets (none found)" }));

    $("paragraphs").replaceChildren(...answer.paragraphs.map(paragraphNode));
    renderSummary(answer);
    applyStance();
  }

  function pickTarget(i) {
    state.picked = i;
    $("target-picker").value = String(i);
    applyStance();
  }

  // ---------------------------------------------------------------------------------------
  // Corrections -> POST /feedback
  // ---------------------------------------------------------------------------------------

  function correctionForm(p, i) {
    const id = (name) => `fix-${i}-${name}`;
    const stanceRows = p.stance.map((s, k) =>
      el("div", { class: "fix-row" },
        el("label", { for: id(`stance-${k}`) }, `Stance toward “${s.target}”`),
        el("select", { id: id(`stance-${k}`), "data-task": "stance", "data-target": s.target, "data-initial": s.label },
          STANCES.map((l) => el("option", { value: l, selected: l === s.label, text: l }))),
      ));
    const checks = (task, labels, chosen, scores) =>
      el("fieldset", { class: "fix-checks", "data-task": task, "data-initial": JSON.stringify(chosen) },
        el("legend", { text: task === "frames" ? "Frames" : "Persuasion techniques" }),
        el("div", { class: "check-grid" },
          labels.map((l) => el("label", { class: "check" },
            el("input", { type: "checkbox", value: l, checked: chosen.includes(l) }),
            ` ${pretty(l)}`, scores[l] !== undefined ? el("span", { class: "muted", text: ` ${fmt(scores[l])}` }) : null))));
    const spansNote = p.bias.spans.length
      ? el("label", { class: "check" }, el("input", { type: "checkbox", id: id("spans"), checked: true }),
        " the underlined words are the loaded ones")
      : null;
    const form = el("form", { class: "fix-form", novalidate: true, "data-index": i },
      stanceRows,
      el("div", { class: "fix-row" },
        el("label", { for: id("bias") }, "Wording"),
        el("select", { id: id("bias"), "data-task": "bias", "data-initial": p.bias.label },
          ["neutral", "biased"].map((l) => el("option", { value: l, selected: l === p.bias.label, text: l }))),
        spansNote),
      // The labels come from the answer: its scores list every label the served model was trained on.
      checks("frames", Object.keys(p.frames.scores), p.frames.labels, p.frames.scores),
      checks("techniques", Object.keys(p.techniques.scores), p.techniques.labels, p.techniques.scores),
      el("div", { class: "fix-row" },
        el("label", { for: id("annotator") }, "Your name ", el("span", { class: "muted", text: "(optional)" })),
        el("input", { id: id("annotator"), type: "text", maxlength: "200", class: "annotator", value: storage(ANNOTATOR_STORAGE) || "" })),
      el("div", { class: "row actions" },
        el("button", { type: "submit", class: "primary small", text: "Send correction" }),
        el("span", { class: "fix-status", role: "status", "aria-live": "polite" })),
    );
    form.addEventListener("submit", (e) => { e.preventDefault(); sendCorrection(form, p); });
    return el("details", { class: "fix" }, el("summary", { text: "Correct a label" }), form);
  }

  function correctionItems(form, p) {
    const base = { text: p.text };
    if (state.articleId) base.article_id = state.articleId;
    const annotator = form.querySelector(".annotator").value.trim();
    if (annotator) base.annotator = annotator;
    const items = [];
    form.querySelectorAll('select[data-task="stance"]').forEach((s) => {
      if (s.value !== s.dataset.initial) items.push({ task: "stance", target: s.dataset.target, label: s.value, ...base });
    });
    const bias = form.querySelector('select[data-task="bias"]');
    const spansBox = form.querySelector('input[id$="-spans"]');
    const spansChanged = spansBox && !spansBox.checked && bias.value === "biased";
    if (bias.value !== bias.dataset.initial || spansChanged) {
      const item = { task: "bias", label: bias.value, ...base };
      if (bias.value === "biased" && spansBox && spansBox.checked) item.spans = p.bias.spans.map((s) => [s.start, s.end]);
      items.push(item);
    }
    form.querySelectorAll("fieldset[data-task]").forEach((fs) => {
      const chosen = [...fs.querySelectorAll("input:checked")].map((c) => c.value);
      const initial = JSON.parse(fs.dataset.initial);
      const same = chosen.length === initial.length && chosen.every((c) => initial.includes(c));
      if (!same) items.push({ task: fs.dataset.task, labels: chosen, ...base });
    });
    return items;
  }

  async function sendCorrection(form, p) {
    const status = form.querySelector(".fix-status");
    const button = form.querySelector('button[type="submit"]');
    const annotator = form.querySelector(".annotator").value.trim();
    storage(ANNOTATOR_STORAGE, annotator || null);
    const items = correctionItems(form, p);
    status.className = "fix-status";
    if (!items.length) {
      status.classList.add("fix-error");
      status.textContent = "Nothing changed: choose the right label first.";
      return;
    }
    button.disabled = true;
    status.textContent = "Sending…";
    try {
      const result = await postJSON("/feedback", { items });
      status.classList.add("fix-ok");
      status.textContent = `Thank you: ${result.count} correction${result.count === 1 ? "" : "s"} stored (id ${result.ids.join(", ")}).`;
      // What was sent is now the baseline: a second send of the same form sends nothing new.
      form.querySelectorAll("select[data-initial]").forEach((s) => { s.dataset.initial = s.value; });
      form.querySelectorAll("fieldset[data-task]").forEach((fs) => {
        fs.dataset.initial = JSON.stringify([...fs.querySelectorAll("input:checked")].map((c) => c.value));
      });
    } catch (e) {
      status.classList.add("fix-error");
      status.textContent = `Not stored. ${describeError(e)}`;
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------------
  // The summary panel (inline SVG charts)
  // ---------------------------------------------------------------------------------------

  function stackedBar(counts, total, label) {
    const w = 240, h = 14;
    const node = svg("svg", { class: "stack", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label, preserveAspectRatio: "none" },
      svg("title", { text: label }));
    let x = 0;
    for (const s of STANCES) {
      const share = total ? counts[s] / total : 0;
      if (share > 0) node.append(svg("rect", { class: `seg-${s}`, x: x * w, y: 0, width: share * w, height: h }));
      x += share;
    }
    if (!total) node.append(svg("rect", { class: "seg-empty", x: 0, y: 0, width: w, height: h }));
    return node;
  }

  function barChart(rows, max, format, label) {
    // rows: [[name, value]], horizontal bars, labels above the bars (fits 375 px too).
    const w = 300, rowH = 30, barH = 9;
    const node = svg("svg", { class: "bars", viewBox: `0 0 ${w} ${rows.length * rowH}`, role: "img", "aria-label": label },
      svg("title", { text: label }));
    rows.forEach(([name, value], i) => {
      const y = i * rowH;
      node.append(
        svg("text", { x: 0, y: y + 12, class: "bar-label", text: pretty(name) }),
        svg("text", { x: w, y: y + 12, class: "bar-value", "text-anchor": "end", text: format(value) }),
        svg("rect", { x: 0, y: y + 17, width: w, height: barH, rx: 2, class: "bar-track" }),
        svg("rect", { x: 0, y: y + 17, width: Math.max(2, (value / (max || 1)) * w), height: barH, rx: 2, class: "bar-fill" }),
      );
    });
    return node;
  }

  function renderSummary(answer) {
    const sum = answer.summary;
    const n = answer.paragraphs.length;
    const box = $("summary");
    const parts = [];

    const bias = sum.bias;
    parts.push(el("section", { class: "sum-block" },
      el("h3", { text: "Biased wording" }),
      el("div", { class: "big-number" }, el("span", { class: "num", text: fmt(bias.score) }),
        el("span", { class: "muted", text: "mean paragraph bias score (0 to 1)" })),
      (() => {
        const w = 240, h = 10;
        const label = `Overall bias score ${fmt(bias.score)} on a scale from 0 to 1`;
        return svg("svg", { class: "meter", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label, preserveAspectRatio: "none" },
          svg("title", { text: label }),
          svg("rect", { x: 0, y: 0, width: w, height: h, rx: 3, class: "bar-track" }),
          svg("rect", { x: 0, y: 0, width: Math.max(2, bias.score * w), height: h, rx: 3, class: "meter-fill" }));
      })(),
      el("p", { class: "sum-note", text: `${bias.biased_paragraphs} of ${n} paragraph${n === 1 ? "" : "s"} labeled biased` })));

    const stanceBlock = el("section", { class: "sum-block" }, el("h3", { text: "Stance per target" }));
    if (!sum.stance.length) stanceBlock.append(el("p", { class: "muted", text: "No targets: none were given and none were found." }));
    sum.stance.forEach((s, i) => {
      const c = s.paragraphs;
      const total = STANCES.reduce((a, l) => a + (c[l] || 0), 0);
      const label = `${s.target}: ${c.favor || 0} favor, ${c.neutral || 0} neutral, ${c.against || 0} against of ${total} paragraphs`;
      stanceBlock.append(el("button", {
        type: "button", class: "stance-row", title: `Tint the article by its stance toward ${s.target}`,
        onclick: () => pickTarget(i),
      },
        el("span", { class: "stance-row-head" },
          el("span", { class: "target-name", text: s.target }),
          el("span", { class: `tag tag-${s.label}`, text: s.label.toUpperCase() })),
        stackedBar({ favor: c.favor || 0, neutral: c.neutral || 0, against: c.against || 0 }, total, label),
        el("span", { class: "stack-legend" },
          el("span", { text: `favor ${total ? pct((c.favor || 0) / total) : "–"}` }),
          el("span", { text: `neutral ${total ? pct((c.neutral || 0) / total) : "–"}` }),
          el("span", { text: `against ${total ? pct((c.against || 0) / total) : "–"}` })),
      ));
    });
    parts.push(stanceBlock);

    const frames = Object.entries(sum.frames).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    parts.push(el("section", { class: "sum-block" }, el("h3", { text: "Frames (share of paragraphs)" }),
      frames.length ? barChart(frames, 1, pct, `Frames: ${frames.map(([f, v]) => `${pretty(f)} ${pct(v)}`).join(", ")}`)
        : el("p", { class: "muted", text: "No frame reached its threshold." })));

    const techniques = Object.entries(sum.techniques).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    parts.push(el("section", { class: "sum-block" }, el("h3", { text: "Persuasion techniques (paragraphs)" }),
      techniques.length ? barChart(techniques, Math.max(...techniques.map(([, v]) => v)), String,
        `Techniques: ${techniques.map(([t, v]) => `${pretty(t)} ${v}`).join(", ")}`)
        : el("p", { class: "muted", text: "No technique reached its threshold." })));

    parts.push(el("p", { class: "model-line" }, "Model ", el("strong", { text: answer.model.name }),
      ` ${answer.model.version} · ${n} paragraph${n === 1 ? "" : "s"}`));
    box.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------------------------------
  // Downloads
  // ---------------------------------------------------------------------------------------

  function download(name, type, content) {
    const url = URL.createObjectURL(new Blob([content], { type }));
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function baseName() {
    const t = (state.answer && state.answer.title) || "article";
    return "slant-" + (t.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 50) || "article");
  }

  function csvCell(v) {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function toCSV(answer) {
    const header = ["index", "start", "end", "text"];
    for (const t of answer.targets) header.push(`stance:${t}`, `favor:${t}`, `neutral:${t}`, `against:${t}`);
    header.push("frames", "techniques", "bias", "bias_score", "loaded_words");
    const rows = [header];
    for (const p of answer.paragraphs) {
      const row = [p.index, p.start, p.end, p.text];
      for (const s of p.stance) row.push(s.label, s.scores.favor, s.scores.neutral, s.scores.against);
      row.push(p.frames.labels.join(";"), p.techniques.labels.join(";"), p.bias.label, p.bias.score,
        p.bias.spans.map((s) => s.text).join(";"));
      rows.push(row);
    }
    return rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  // ---------------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------------

  function onParagraphKey(e) {
    if (e.target.classList && !e.target.classList.contains("para")) return;
    const items = [...document.querySelectorAll("#paragraphs .para")];
    const at = items.indexOf(e.target);
    let next = null;
    if (e.key === "ArrowDown" || e.key === "j") next = items[at + 1];
    else if (e.key === "ArrowUp" || e.key === "k") next = items[at - 1];
    else if (e.key === "Home") next = items[0];
    else if (e.key === "End") next = items[items.length - 1];
    if (next) {
      e.preventDefault();
      next.focus();
    }
  }

  function init() {
    $("article-form").addEventListener("submit", analyze);
    $("cancel-button").addEventListener("click", () => state.controller && state.controller.abort());
    $("sample-button").addEventListener("click", loadSample);
    $("clear-button").addEventListener("click", () => {
      $("article-input").value = "";
      $("title-input").value = "";
      $("file-name").textContent = "";
      state.targets = [];
      renderChips();
      clearError();
      $("article-input").focus();
    });
    $("file-input").addEventListener("change", (e) => openFile(e.target.files[0]).catch((err) => showError(`Could not read the file: ${err.message}`)));
    $("article-input").addEventListener("paste", (e) => {
      const text = e.clipboardData && e.clipboardData.getData("text/plain");
      if (text && !$("article-input").value.trim()) setMode(looksLikeHTML(text) ? "html" : "text");
    });
    $("article-input").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) analyze(e);
    });
    const targetInput = $("target-input");
    targetInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === ",") {
        e.preventDefault();
        if (targetInput.value.trim()) {
          addTarget(targetInput.value);
          targetInput.value = "";
        }
      } else if (e.key === "Backspace" && !targetInput.value && state.targets.length) {
        state.targets.pop();
        renderChips();
      }
    });
    targetInput.addEventListener("blur", () => {
      if (targetInput.value.trim()) {
        addTarget(targetInput.value);
        targetInput.value = "";
      }
    });
    $("target-picker").addEventListener("change", (e) => pickTarget(Number(e.target.value) || 0));
    $("paragraphs").addEventListener("keydown", onParagraphKey);
    $("download-json").addEventListener("click", () => state.answer &&
      download(`${baseName()}.json`, "application/json", JSON.stringify(state.answer, null, 2)));
    $("download-csv").addEventListener("click", () => state.answer &&
      download(`${baseName()}.csv`, "text/csv;charset=utf-8", "\ufeff" + toCSV(state.answer)));
    $("forget-key").addEventListener("click", () => { storage(KEY_STORAGE, null); updateKeyButton(); });
    renderChips();
    updateKeyButton();
  }

  // For tests and the screenshot script: the last answer and the CSV the page would download.
  window.slantReader = {
    answer: () => state.answer,
    csv: () => (state.answer ? toCSV(state.answer) : ""),
    sample: SAMPLE,
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
