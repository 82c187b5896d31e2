// The rnndsl playground: an editor, live diagnostics, the two diagrams and the parameter table.
// User text never becomes HTML: every string goes in through textContent, and the SVG the server
// draws is parsed as XML, stripped of anything active, and imported as nodes.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const source = $("source");
  const gutterLines = $("gutter-lines");
  const backdropLines = $("backdrop-lines");
  const DEBOUNCE_MS = 300;

  const state = {
    path: null,          // the file the text came from (relative to the served folder), or null
    savedText: null,     // its text on disk, as last read or saved
    readOnly: true,
    diagnostics: [],     // from the last check
    tokens: [],          // the Pygments lexer's colouring of tokensText: [line, from, to, class]
    tokensText: null,
    generation: 0,       // bumped on every edit: answers to older requests are dropped
    controllers: [],     // in-flight requests, aborted when a newer edit starts
    timer: null,
    lastOk: false,
  };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(text, kind) {
    const s = $("status");
    s.textContent = text;
    s.className = "status" + (kind ? " " + kind : "");
  }

  async function postJSON(url, body, signal) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  }

  // ---------------------------------------------------------------- the editor

  function lines() {
    return source.value.split("\n");
  }

  function caretLineCol() {
    const before = source.value.slice(0, source.selectionStart);
    const line = before.split("\n").length;
    const lineStart = before.lastIndexOf("\n") + 1;
    const col = Array.from(before.slice(lineStart)).length + 1; // columns count characters, as the checker does
    return { line, col };
  }

  function diagsOnLine(line) {
    return state.diagnostics.filter((d) => d.line > 0 && d.line <= line && line <= Math.max(d.line, d.end_line || d.line));
  }

  function lineClass(line) {
    const ds = diagsOnLine(line);
    if (ds.some((d) => d.severity === "error")) return "err";
    if (ds.length) return "warn";
    return "";
  }

  // The backdrop holds the same text in transparent ink; marks under the diagnostics' spans show through.
  function renderEditor() {
    const all = lines();
    const caret = caretLineCol().line;
    const marks = new Map(); // line -> [{from, to, cls}] in characters
    for (const d of state.diagnostics) {
      if (!(d.line > 0)) continue;
      const endLine = Math.max(d.line, d.end_line || d.line);
      for (let ln = d.line; ln <= Math.min(endLine, all.length, d.line + 200); ln++) {
        const len = Array.from(all[ln - 1] || "").length;
        const from = ln === d.line ? Math.max(0, d.col - 1) : 0;
        let to = ln === endLine && d.end_line ? d.end_col - 1 : len;
        if (to <= from) to = from + 1;
        if (!marks.has(ln)) marks.set(ln, []);
        marks.get(ln).push({ from, to, cls: d.severity === "error" ? "" : "warn" });
      }
    }
    const colours = new Map(); // line -> tokens, only while the checked text is the text shown
    if (state.tokensText === source.value) {
      for (const t of state.tokens) {
        if (!colours.has(t[0])) colours.set(t[0], []);
        colours.get(t[0]).push(t);
      }
    }
    const gFrag = document.createDocumentFragment();
    const bFrag = document.createDocumentFragment();
    all.forEach((text, i) => {
      const n = i + 1;
      const cls = lineClass(n);
      const g = el("div", "ln" + (cls ? " " + cls : "") + (n === caret ? " caret" : ""), n);
      gFrag.appendChild(g);
      const b = el("div", "ln" + (cls ? " " + cls : "") + (n === caret ? " caret" : ""));
      const ms = marks.get(n) || [];
      const ts = colours.get(n) || [];
      if (!ms.length && !ts.length) {
        b.textContent = text || "\u200b";
      } else {
        // each character gets its token class and its mark; runs of equal pairs become one element
        const chars = Array.from(text);
        const width = Math.max(chars.length, ...ms.map((m) => Math.max(m.to, m.from + 1)));
        const tok = new Array(width).fill("");
        const mark = new Array(width).fill(null);
        for (const t of ts) for (let k = t[1]; k < Math.min(t[2], width); k++) tok[k] = t[3];
        for (const m of ms) for (let k = m.from; k < Math.max(m.to, m.from + 1) && k < width; k++) mark[k] = m.cls;
        const text_of = (from, to) => chars.slice(from, to).join("") + " ".repeat(Math.max(0, to - Math.max(from, chars.length)));
        let at = 0;
        while (at < width) {  // a run of one mark (or none), then runs of one token class inside it
          let end = at + 1;
          while (end < width && mark[end] === mark[at]) end++;
          const holder = mark[at] !== null ? el("mark", mark[at]) : b;
          for (let k = at; k < end;) {
            let stop = k + 1;
            while (stop < end && tok[stop] === tok[k]) stop++;
            holder.appendChild(el("span", tok[k] ? "tok-" + tok[k] : "", text_of(k, stop)));
            k = stop;
          }
          if (holder !== b) b.appendChild(holder);
          at = end;
        }
      }
      bFrag.appendChild(b);
    });
    gutterLines.replaceChildren(gFrag);
    backdropLines.replaceChildren(bFrag);
    syncScroll();
    renderCaretDiag();
  }

  function syncScroll() {
    gutterLines.style.transform = `translateY(${-source.scrollTop}px)`;
    backdropLines.style.transform = `translate(${-source.scrollLeft}px, ${-source.scrollTop}px)`;
  }

  let lastCaretLine = 0;
  function onCaretMove() {
    const { line, col } = caretLineCol();
    $("caret-pos").textContent = `Ln ${line}, Col ${col}`;
    if (line !== lastCaretLine) {
      lastCaretLine = line;
      for (const holder of [gutterLines, backdropLines]) {
        for (const node of holder.querySelectorAll(".ln.caret")) node.classList.remove("caret");
        const node = holder.children[line - 1];
        if (node) node.classList.add("caret");
      }
      renderCaretDiag();
    }
  }

  // The diagnostics of the caret's line, under the editor.
  function renderCaretDiag() {
    const box = $("caret-diag");
    const line = caretLineCol().line;
    const ds = diagsOnLine(line);
    box.replaceChildren();
    box.dataset.line = String(line);
    if (!ds.length) {
      box.appendChild(el("span", "none", state.diagnostics.length ? `line ${line}: no problem here` : ""));
      return;
    }
    for (const d of ds) {
      const row = el("div", d.severity);
      row.textContent = `${d.line}:${d.col}: ${d.severity}: ${d.message}` + d.notes.map((n) => `\n  note: ${n}`).join("");
      box.appendChild(row);
    }
  }

  function moveCaret(line, col) {
    const all = lines();
    let offset = 0;
    for (let i = 0; i < Math.min(line - 1, all.length); i++) offset += all[i].length + 1;
    const text = all[line - 1] || "";
    offset += Array.from(text).slice(0, Math.max(0, col - 1)).join("").length;
    source.focus();
    source.setSelectionRange(offset, offset);
    const top = (line - 3) * parseFloat(getComputedStyle(source).lineHeight);
    source.scrollTop = Math.max(0, top);
    onCaretMove();
    syncScroll();
  }

  // ---------------------------------------------------------------- diagnostics, table, report

  function renderDiagnostics(result) {
    const list = $("diagnostics");
    list.replaceChildren();
    const ds = result.diagnostics;
    const errors = ds.filter((d) => d.severity === "error").length;
    const warnings = ds.length - errors;
    $("diag-count").textContent = ds.length ? `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}` : "";
    if (!ds.length) {
      list.appendChild(el("li", "empty", "no problems"));
      return;
    }
    for (const d of ds) {
      const li = el("li", d.severity);
      li.dataset.line = String(d.line);
      li.dataset.col = String(d.col);
      li.appendChild(el("span", "sev", d.severity));
      if (d.line > 0) li.appendChild(el("span", "loc", `${d.line}:${d.col}`));
      li.appendChild(el("span", "msg", d.message));
      for (const n of d.notes) li.appendChild(el("span", "note", "note: " + n));
      if (d.line > 0) li.addEventListener("click", () => moveCaret(d.line, d.col));
      list.appendChild(li);
    }
  }

  function renderTable(result) {
    const table = $("params");
    if (!result.ok) {
      table.classList.add("stale"); // keep the last good table, greyed
      return;
    }
    table.classList.remove("stale");
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const r of result.rows) {
      const tr = el("tr", r.op ? "op" : "value");
      for (const [key, cls] of [["name", ""], ["kind", ""], ["shape", ""], ["steps", ""], ["params", "num"], ["flops", "num"]]) {
        tr.appendChild(el("td", cls, r[key]));
      }
      body.appendChild(tr);
    }
    $("totals").textContent = `${result.total_params.toLocaleString("en")} parameters, ${result.total_flops.toLocaleString("en")} FLOPs per sample`;
  }

  // ---------------------------------------------------------------- the diagrams

  // Parse the server's SVG as XML and keep only inert drawing: no script, no foreign HTML, no event
  // handlers, no links. The result is imported as DOM nodes, never assigned as markup.
  function safeSvg(text) {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (!root || root.nodeName !== "svg" || doc.getElementsByTagName("parsererror").length) return null;
    for (const bad of root.querySelectorAll("script, foreignObject, iframe, object, embed, use, image, a")) {
      if (bad.nodeName === "a") bad.replaceWith(...bad.childNodes); else bad.remove();
    }
    for (const node of [root, ...root.querySelectorAll("*")]) {
      for (const attr of Array.from(node.attributes)) {
        const name = attr.name.toLowerCase();
        if (name.startsWith("on") || name.endsWith("href") || name === "style" && /url\(/i.test(attr.value)) node.removeAttribute(attr.name);
      }
    }
    // titles become data-tip: the playground's own tooltip shows them at once (no doubled native tooltip)
    for (const g of root.querySelectorAll("g.node, g.edge")) {
      const title = g.querySelector(":scope > title");
      if (title) {
        g.setAttribute("data-tip", title.textContent);
        title.remove();
      }
    }
    const w = parseFloat(root.getAttribute("width"));
    if (w) root.style.maxWidth = "none";
    root.setAttribute("data-natural-width", root.getAttribute("width") || "");
    return document.importNode(root, true);
  }

  function setStale(stale) {
    for (const id of ["unrolled", "folded"]) $(id).classList.toggle("stale", stale);
  }

  async function renderView(view, text, gen, signal) {
    const holder = $(view).querySelector(".svg-holder");
    const steps = parseInt($("steps").value, 10);
    const body = { text, view, shapes: $("shapes").checked };
    if (Number.isInteger(steps) && steps >= 1) body.steps = Math.min(steps, 64);
    const resp = await postJSON("/api/render", body, signal);
    if (gen !== state.generation) return;
    if (resp.status === 422) {
      setStale(true);
      return;
    }
    if (!resp.ok) {
      let message = `drawing failed (${resp.status})`;
      try { message = (await resp.json()).error || message; } catch (e) { /* not JSON */ }
      if (gen !== state.generation) return;
      holder.replaceChildren(el("p", "placeholder", message));
      return;
    }
    const svgText = await resp.text();
    if (gen !== state.generation) return;
    const svg = safeSvg(svgText);
    if (!svg) {
      holder.replaceChildren(el("p", "placeholder", "the drawing could not be read"));
      return;
    }
    holder.replaceChildren(svg);
    $(view).classList.remove("stale");
    $(view).dataset.generation = String(gen);
  }

  // ---------------------------------------------------------------- check, then draw

  function scheduleCheck() {
    clearTimeout(state.timer);
    state.timer = setTimeout(runCheck, DEBOUNCE_MS);
  }

  async function runCheck(options = {}) {
    const gen = ++state.generation;
    for (const c of state.controllers) c.abort();
    const controller = new AbortController();
    state.controllers = [controller];
    const text = source.value;
    setStatus("checking…");
    try {
      const resp = await postJSON("/api/check", { text, path: state.path || "spec.rnn" }, controller.signal);
      if (gen !== state.generation) return;
      const result = await resp.json();
      if (gen !== state.generation) return;
      if (!resp.ok) {
        setStatus(result.error || `check failed (${resp.status})`, "bad");
        return;
      }
      state.diagnostics = result.diagnostics;
      state.tokens = result.tokens || [];
      state.tokensText = text;  // the colouring applies only while the text is still this
      state.lastOk = result.ok;
      renderDiagnostics(result);
      renderTable(result);
      renderEditor();
      $("report").textContent = result.report;
      const errors = result.diagnostics.filter((d) => d.severity === "error").length;
      if (result.ok) {
        setStatus(`ok: ${result.total_params.toLocaleString("en")} parameters`, "ok");
        if (!options.noDraw) {
          await Promise.all(["unrolled", "folded"].map((v) => renderView(v, text, gen, controller.signal)));
        }
      } else {
        setStatus(`${errors} error${errors === 1 ? "" : "s"}`, "bad");
        setStale(true);
      }
      updateSaveButton();
    } catch (err) {
      if (err.name !== "AbortError") setStatus("the server did not answer: is `rnndsl serve` still running?", "bad");
    }
  }

  // ---------------------------------------------------------------- files, save, compile command

  function updateSaveButton() {
    const save = $("save");
    save.hidden = state.readOnly || !state.path;
    const dirty = state.path && source.value !== state.savedText;
    save.disabled = !dirty;
    $("file-name").textContent = state.path ? state.path + (dirty ? " (edited)" : "") : "example (not a file)";
  }

  function loadText(path, text) {
    state.path = path;
    state.savedText = path ? text : null;
    source.value = text;
    source.setSelectionRange(0, 0);
    source.scrollTop = 0;
    state.diagnostics = [];
    renderEditor();
    updateSaveButton();
    $("command").value = "";
    $("command-notes").replaceChildren();
    runCheck();
  }

  async function openFile(path) {
    const resp = await fetch("/api/file?path=" + encodeURIComponent(path));
    const result = await resp.json();
    if (!resp.ok) {
      setStatus(result.error || `cannot open ${path}`, "bad");
      return;
    }
    loadText(result.path, result.text);
  }

  async function save() {
    if (!state.path || state.readOnly) return;
    const text = source.value;
    const resp = await postJSON("/api/save", { path: state.path, text });
    const result = await resp.json();
    if (!resp.ok) {
      setStatus(result.error || `saving failed (${resp.status})`, "bad");
      return;
    }
    state.savedText = text;
    updateSaveButton();
    setStatus(`saved ${state.path}`, "ok");
  }

  async function compileCommand() {
    const body = { text: source.value, path: state.path, data: $("data").value, data_dir: $("data-dir").value };
    const epochs = parseInt($("epochs").value, 10);
    if (Number.isInteger(epochs) && epochs >= 1) body.epochs = epochs;
    const resp = await postJSON("/api/command", body);
    const result = await resp.json();
    const notes = $("command-notes");
    notes.replaceChildren();
    if (!resp.ok) {
      $("command").value = "";
      notes.appendChild(el("li", "", result.error || `failed (${resp.status})`));
      return;
    }
    $("command").value = result.command;
    for (const n of result.notes) notes.appendChild(el("li", "", n));
  }

  // ---------------------------------------------------------------- the tooltip

  function setupTooltip() {
    const tip = $("tooltip");
    const show = (event) => {
      const g = event.target.closest && event.target.closest("g.node[data-tip], g.edge[data-tip]");
      if (!g) {
        tip.hidden = true;
        return;
      }
      tip.textContent = g.getAttribute("data-tip");
      tip.hidden = false;
      const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      const y = event.clientY + 16 + tip.offsetHeight > window.innerHeight ? event.clientY - tip.offsetHeight - 10 : event.clientY + 16;
      tip.style.left = `${Math.max(4, x)}px`;
      tip.style.top = `${Math.max(4, y)}px`;
    };
    for (const holder of document.querySelectorAll(".svg-holder")) {
      holder.addEventListener("mouseover", show);
      holder.addEventListener("mousemove", show);
      holder.addEventListener("mouseleave", () => { tip.hidden = true; });
    }
  }

  // ---------------------------------------------------------------- start

  async function start() {
    source.addEventListener("input", () => {
      renderEditor();
      updateSaveButton();
      scheduleCheck();
    });
    source.addEventListener("scroll", syncScroll);
    for (const ev of ["keyup", "click", "select", "focus"]) source.addEventListener(ev, onCaretMove);
    document.addEventListener("selectionchange", () => { if (document.activeElement === source) onCaretMove(); });
    source.addEventListener("keydown", (event) => {
      if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault(); // indent with spaces (Esc, then Tab, leaves the editor)
        source.setRangeText("    ", source.selectionStart, source.selectionEnd, "end");
        source.dispatchEvent(new Event("input"));
      } else if (event.key === "Escape") {
        source.blur();
      }
    });
    document.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === "s") {
        event.preventDefault();
        save();
      }
    });
    $("save").addEventListener("click", save);
    $("compile").addEventListener("click", compileCommand);
    $("copy").addEventListener("click", () => {
      const text = $("command").value;
      if (text && navigator.clipboard) navigator.clipboard.writeText(text).then(() => setStatus("copied", "ok"), () => {});
    });
    for (const id of ["steps", "shapes"]) $(id).addEventListener("change", () => { if (state.lastOk) runCheck(); });
    const fit = () => document.body.classList.toggle("fit", $("fit").checked);
    $("fit").addEventListener("change", fit);
    fit();
    $("file").addEventListener("change", (event) => {
      const path = event.target.value;
      if (state.path && source.value !== state.savedText && !window.confirm("Drop the unsaved changes?")) {
        event.target.value = state.path;
        return;
      }
      openFile(path);
    });
    setupTooltip();

    const resp = await fetch("/api/start");
    const init = await resp.json();
    if (!resp.ok) {
      setStatus(init.error || "cannot start", "bad");
      return;
    }
    state.readOnly = init.read_only;
    $("steps").max = String(init.max_steps);
    $("steps").value = String(init.default_steps);
    if (init.files.length) {
      const select = $("file");
      for (const f of init.files) {
        const option = el("option", "", f);
        option.value = f;
        select.appendChild(option);
      }
      if (init.path) select.value = init.path;
      $("file-label").hidden = false;
    }
    loadText(init.path, init.text);
  }

  start();
})();
