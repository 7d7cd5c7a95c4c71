// Zone editor: polygons in normalised picture coordinates (0..1) drawn over the camera picture.
// Every edit is validated by the server (/api/zones/validate); saving goes to PUT /api/zones.
"use strict";
(function () {
  const canvas = document.getElementById("zone-canvas");
  const ctx = canvas.getContext("2d");
  const picture = new Image();
  const HANDLE_PX = 9;
  const COLOURS = { polygon: "#00c8ff", curb0: "#ff78c8", curb1: "#c878ff", head: "#ffd400" };
  const state = {
    sha256: null, crosswalks: [], heads: [], ruleSchema: null, selected: 0, layer: "polygon",
    drawing: null, drag: null, issues: [], validateTimer: null,
  };

  // ---- geometry helpers ----------------------------------------------------------------------
  // Layers: "polygon", "curb0", "curb1" of the selected crosswalk, or "head:<key>" for a signal-head box.
  function headOf(layer) { return state.heads.find((h) => "head:" + h.key === layer); }
  function boxPoints([x1, y1, x2, y2]) { return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]; }
  function shapeOf(cw, layer) {
    if (layer.startsWith("head:")) return boxPoints(headOf(layer).box);
    if (layer === "polygon") return cw.polygon;
    return cw.curbs[layer === "curb0" ? 0 : 1].polygon;
  }
  function setShape(cw, layer, points) {
    if (layer.startsWith("head:")) {
      const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
      headOf(layer).box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    } else if (layer === "polygon") cw.polygon = points;
    else cw.curbs[layer === "curb0" ? 0 : 1].polygon = points;
  }
  function moveVertex(cw, layer, index, p) {
    if (!layer.startsWith("head:")) { shapeOf(cw, layer)[index] = p; return; }
    const box = headOf(layer).box;  // corners 0..3 = (x1,y1) (x2,y1) (x2,y2) (x1,y2)
    if (index === 0 || index === 3) box[0] = p[0]; else box[2] = p[0];
    if (index === 0 || index === 1) box[1] = p[1]; else box[3] = p[1];
  }
  function keyOf(index, layer) {
    if (layer.startsWith("head:")) return layer.slice(5);
    if (layer === "polygon") return `crosswalks[${index}].polygon`;
    return `crosswalks[${index}].curbs[${layer === "curb0" ? 0 : 1}].polygon`;
  }
  function toCanvas([x, y]) { return [x * canvas.width, y * canvas.height]; }
  // A corner dragged past the picture's edge keeps its real position (up to a margin), so the check
  // says "corner N lies outside the picture" instead of the corner silently stopping at the edge.
  function eventPoint(event, margin = 0) {
    const rect = canvas.getBoundingClientRect();
    const x = (event.clientX - rect.left) / rect.width;
    const y = (event.clientY - rect.top) / rect.height;
    const clamp = (v) => Math.round(Math.min(Math.max(v, -margin), 1 + margin) * 10000) / 10000;
    return [clamp(x), clamp(y)];
  }
  function pixelsPerCanvasUnit() { return canvas.getBoundingClientRect().width / canvas.width; }
  function nearVertex(points, p) {
    const scale = pixelsPerCanvasUnit();
    const [px, py] = toCanvas(p);
    for (let i = 0; i < points.length; i++) {
      const [x, y] = toCanvas(points[i]);
      if (Math.hypot(x - px, y - py) * scale <= HANDLE_PX) return i;
    }
    return -1;
  }
  function nearEdge(points, p) {
    const scale = pixelsPerCanvasUnit();
    const [px, py] = toCanvas(p);
    for (let i = 0; i < points.length; i++) {
      const [ax, ay] = toCanvas(points[i]);
      const [bx, by] = toCanvas(points[(i + 1) % points.length]);
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2 || 1;
      const t = Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2));
      if (Math.hypot(ax + t * (bx - ax) - px, ay + t * (by - ay) - py) * scale <= HANDLE_PX) return i;
    }
    return -1;
  }

  // ---- drawing -------------------------------------------------------------------------------
  function flaggedKeys() { return new Set(state.issues.filter((i) => i.severity === "error").map((i) => i.key)); }
  function drawShape(points, colour, selected, flagged, closed) {
    if (!points || points.length === 0) return;
    ctx.beginPath();
    points.forEach((p, i) => { const [x, y] = toCanvas(p); if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y); });
    if (closed) ctx.closePath();
    ctx.lineWidth = (selected ? 3 : 1.5) / pixelsPerCanvasUnit();
    ctx.strokeStyle = flagged ? "#ff2020" : colour;
    ctx.fillStyle = colour + (selected ? "40" : "22");
    if (closed) ctx.fill();
    ctx.stroke();
    if (!selected) return;
    const unit = 1 / pixelsPerCanvasUnit();
    points.forEach((p, i) => {
      const [x, y] = toCanvas(p);
      ctx.beginPath();
      ctx.arc(x, y, (HANDLE_PX - 3) * unit, 0, 2 * Math.PI);
      ctx.fillStyle = i === 0 ? "#ffffff" : colour;
      ctx.fill();
      ctx.strokeStyle = "#000";
      ctx.lineWidth = unit;
      ctx.stroke();
      // The corner's number, as the checks name it ("corner 3 lies outside the picture").
      ctx.font = `bold ${Math.round(13 * unit)}px system-ui, sans-serif`;
      ctx.lineWidth = 3 * unit;
      ctx.strokeStyle = "#000";
      ctx.strokeText(String(i + 1), x + 7 * unit, y - 7 * unit);
      ctx.fillStyle = "#fff";
      ctx.fillText(String(i + 1), x + 7 * unit, y - 7 * unit);
    });
  }
  function render() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (picture.complete && picture.naturalWidth) ctx.drawImage(picture, 0, 0, canvas.width, canvas.height);
    const flagged = flaggedKeys();
    state.crosswalks.forEach((cw, index) => {
      for (const layer of ["curb0", "curb1", "polygon"]) {
        const selected = index === state.selected && layer === state.layer;
        if (selected && state.drawing) continue;
        const points = shapeOf(cw, layer);
        const isFlagged = [...flagged].some((k) => k.startsWith(keyOf(index, layer)));
        drawShape(points, COLOURS[layer], selected, isFlagged, true);
      }
    });
    for (const head of state.heads) {
      const layer = "head:" + head.key;
      const selected = layer === state.layer;
      if (selected && state.drawing) continue;
      const isFlagged = flagged.has(head.key);
      drawShape(boxPoints(head.box), COLOURS.head, selected, isFlagged, true);
    }
    const colour = state.layer.startsWith("head:") ? COLOURS.head : COLOURS[state.layer];
    if (state.drawing) drawShape(state.drawing, colour, true, false, false);
  }

  // ---- server calls --------------------------------------------------------------------------
  function showIssues(issues) {
    state.issues = issues;
    const list = document.getElementById("issues");
    list.replaceChildren(...issues.map((i) => {
      const li = document.createElement("li");
      li.className = i.severity;
      const where = plainKey(i.key);  // the message names the corner itself when it is about one
      li.textContent = `${i.message.startsWith("corner ") ? where.replace(/, corner \d+$/, "") : where}: ${i.message}`;
      return li;
    }));
    document.getElementById("issues-none").hidden = issues.length > 0;
    document.getElementById("save").disabled = issues.some((i) => i.severity === "error") || !!state.drawing;
    render();
  }
  // "crosswalks[0].curbs[1].polygon[3]" as a person says it: 'cw-main, curb "far", corner 4'.
  function plainKey(key) {
    const m = /^crosswalks\[(\d+)\](.*)$/.exec(key);
    if (!m) { const head = state.heads.find((h) => h.key === key); return head ? t("signal head {group}", { group: head.group }) : key; }
    const cw = state.crosswalks[Number(m[1])];
    const parts = [cw ? cw.id : t("crosswalk {n}", { n: Number(m[1]) + 1 })];
    let rest = m[2];
    const curb = /^\.curbs\[(\d)\](.*)$/.exec(rest);
    if (curb) {
      const name = cw && cw.curbs[Number(curb[1])] ? cw.curbs[Number(curb[1])].name : curb[1];
      parts.push(t("curb \"{name}\"", { name }));
      rest = curb[2];
    } else if (rest.startsWith(".polygon")) parts.push(t("crosswalk shape"));
    const corner = /\.polygon\[(\d+)\]/.exec(rest);
    if (corner) parts.push(t("corner {n}", { n: Number(corner[1]) + 1 }));
    const rule = /^\.rules\.(\w+)/.exec(rest);
    if (rule) parts.push(RULE_TEXT[rule[1]] ? RULE_TEXT[rule[1]].label : rule[1]);
    if (!curb && !corner && !rule && rest && !rest.startsWith(".polygon")) parts.push(rest.replace(/^\./, ""));
    return parts.join(", ");
  }
  function scheduleValidate() {
    clearTimeout(state.validateTimer);
    state.validateTimer = setTimeout(async () => {
      const r = await api("POST", withCamera("/api/zones/validate"), { crosswalks: state.crosswalks, signal_heads: headBoxes() });
      if (r.ok) showIssues(r.data.issues);
      else setStatus(t("validation failed: {reason}", { reason: detailText(r) }), true);
    }, 150);
  }
  function setStatus(text, bad) {
    const el = document.getElementById("save-status");
    el.textContent = text;
    el.className = bad ? "error" : "";
  }
  function headBoxes() { return Object.fromEntries(state.heads.map((h) => [h.key, h.box])); }
  function fillHeadLayers() {
    const fieldset = document.getElementById("layer-select");
    fieldset.querySelectorAll(".head-layer").forEach((el) => el.remove());
    for (const head of state.heads) {
      const label = document.createElement("label");
      label.className = "head-layer";
      const radio = document.createElement("input");
      radio.type = "radio"; radio.name = "layer"; radio.value = "head:" + head.key;
      radio.addEventListener("change", () => { state.layer = radio.value; state.drawing = null; render(); });
      label.append(radio, " " + (head.kind === "region" ? t("signal head {group}", { group: head.group }) : t("signal head {group} (countdown)", { group: head.group })));
      fieldset.append(label);
    }
  }
  async function load() {
    const r = await api("GET", withCamera("/api/zones"));
    if (!r.ok) { setStatus(t("cannot load zones: {reason}", { reason: detailText(r) }), true); return; }
    state.sha256 = r.data.sha256;
    state.crosswalks = r.data.crosswalks;
    state.heads = r.data.signal_heads;
    if (state.layer.startsWith("head:") && !headOf(state.layer)) {
      state.layer = "polygon";
      document.querySelector('#layer-select input[value="polygon"]').checked = true;
    }
    fillHeadLayers();
    state.ruleSchema = r.data.rule_schema;
    state.selected = Math.min(state.selected, Math.max(state.crosswalks.length - 1, 0));
    state.drawing = null;
    fillCrosswalkSelect();
    selectCrosswalk(state.selected);
    loadHistory();
    markSaved();
    scheduleValidate();
  }
  // Unsaved edits: what the editor holds differs from what was last loaded or saved.
  function snapshot() { return JSON.stringify([state.crosswalks, headBoxes()]); }
  function markSaved() { state.saved = snapshot(); }
  window.addEventListener("beforeunload", (event) => {
    if (state.saved === undefined || snapshot() === state.saved) return;
    event.preventDefault();
    event.returnValue = "";  // the browser asks "Leave site? Changes you made may not be saved."
  });
  async function save() {
    const note = document.getElementById("save-note").value;
    setStatus(t("saving…"));
    const body = { crosswalks: state.crosswalks, signal_heads: headBoxes(), base_sha256: state.sha256, note };
    const r = await api("PUT", withCamera("/api/zones"), body);
    if (!r.ok) {
      setStatus(t("save refused: {reason}", { reason: detailText(r) }), true);
      if (r.data && r.data.issues) showIssues(r.data.issues);
      return;
    }
    state.sha256 = r.data.sha256;
    document.getElementById("save-note").value = "";
    markSaved();
    setStatus(t("saved as version {version}; {applied}", { version: r.data.version.version, applied: appliedText(r.data) }), !r.data.applied);
    loadHistory();
  }
  // Whether the running service took the saved zones; without one they apply when it starts.
  function appliedText(data) {
    if (!data.applied) return t("NOT applied: {reason}", { reason: data.apply_error });
    return data.live ? t("applied") : t("will apply when the service starts (no live service is attached)");
  }
  async function loadHistory() {
    const r = await api("GET", "/api/zones/history");
    const table = document.getElementById("history");
    if (!r.ok) return;
    const header = document.createElement("tr");
    header.replaceChildren(...[t("version"), t("saved"), t("by"), t("note"), ""].map((text) => {
      const th = document.createElement("th"); th.textContent = text; return th;
    }));
    table.replaceChildren(header, ...r.data.map((v, i) => {
      const tr = document.createElement("tr");
      const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
      tr.append(cell(v.version), timeCell(v.saved_utc), cell(v.user), cell(v.note));
      const td = document.createElement("td");
      if (i > 0) {
        const button = document.createElement("button");
        button.textContent = t("Revert");
        button.className = "revert";
        button.dataset.version = v.version;
        button.addEventListener("click", () => revert(v.version));
        td.append(button);
      } else td.textContent = t("current");
      tr.append(td);
      return tr;
    }));
  }
  async function revert(version) {
    if (!confirm(t("Write the zones of version {version} back and apply them?", { version }))) return;
    const r = await api("POST", "/api/zones/revert", { version });
    if (!r.ok) {
      setStatus(t("revert to version {version} refused: {reason}", { version, reason: detailText(r) }), true);
      if (r.data && r.data.issues) showIssues(r.data.issues);
      return;
    }
    await load();
    setStatus(t("zones of version {version} written back as version {now}; {applied}", { version, now: r.data.version.version, applied: appliedText(r.data) }),
      !r.data.applied);
  }

  // ---- side panel ----------------------------------------------------------------------------
  function fillCrosswalkSelect() {
    const select = document.getElementById("crosswalk-select");
    select.replaceChildren(...state.crosswalks.map((cw, i) => {
      const o = document.createElement("option"); o.value = i; o.textContent = cw.id; return o;
    }));
  }
  function selectCrosswalk(index) {
    state.selected = index;
    const cw = state.crosswalks[index];
    if (!cw) return;
    document.getElementById("crosswalk-select").value = index;
    document.getElementById("curb0-name").textContent = t("curb \"{name}\"", { name: cw.curbs[0].name });
    document.getElementById("curb1-name").textContent = t("curb \"{name}\"", { name: cw.curbs[1].name });
    document.getElementById("signal-group").value = cw.signal_group;
    document.getElementById("curb0-input").value = cw.curbs[0].name;
    document.getElementById("curb1-input").value = cw.curbs[1].name;
    document.getElementById("remove-crosswalk").disabled = state.crosswalks.length < 2;
    fillRules(cw);
    render();
  }
  // Plain labels, units and a help line per rule; "percent" fields are stored as fractions.
  const RULE_TEXT = {
    grace_s: { label: t("Grace after DON'T WALK"), unit: t("s"), help: t("Entries this soon after DON'T WALK begins are not enforced.") },
    inertia_frames: { label: t("Frames to change zone"), unit: t("frames"), help: t("A person must be seen this many frames in a row in a zone before they count as in it.") },
    min_penetration: { label: t("How far in counts as crossing"), unit: "%", percent: true, help: t("Share of the crosswalk's depth (curb to curb) a person must walk in.") },
    clearance: { label: t("Entering while flashing"), unit: "", help: t("allow: entering during the flashing (clearance) phase is not a violation; violation: it is.") },
    id_switch_window_s: { label: t("Same person if lost within"), unit: t("s"), help: t("A new track starting near one lost this recently is the same person.") },
    id_switch_radius: { label: t("Same person if within"), unit: t("% of diagonal"), percent: true, help: t("How near the lost track (share of the picture's diagonal) a new one must start.") },
    track_timeout_s: { label: t("Forget a person unseen for"), unit: t("s"), help: t("A track not seen for this long is dropped.") },
    repeat_window_s: { label: t("Re-entry counts once within"), unit: t("s"), help: t("Stepping back and in again from the same curb this soon is the same crossing.") },
    repeat_radius: { label: t("Re-entry counts once within"), unit: t("% of depth"), percent: true, help: t("How near the earlier entry point (share of the crosswalk's depth) a re-entry must be.") },
    turn_around_s: { label: t("Walking back counts after"), unit: t("s"), help: t("Someone who has just crossed to a curb and steps back in counts as walking back only this long after arriving: stopping and turning round takes a step or two.") },
    curb_edge_margin: { label: t("Curb edge width"), unit: t("% of depth"), percent: true, help: t("The strip of crosswalk next to a curb that still counts as that curb's edge.") },
  };
  function fillRules(cw) {
    const holder = document.getElementById("rules");
    const schema = state.ruleSchema;
    cw.rules = cw.rules || {};
    holder.replaceChildren(...Object.entries(schema.properties).map(([key, field]) => {
      const text = RULE_TEXT[key] || { label: key, unit: "", help: field.description || "" };
      const scale = text.percent ? 100 : 1;
      const row = document.createElement("div");
      row.className = "rule";
      const label = document.createElement("label");
      label.htmlFor = `rule-${key}`;
      label.textContent = text.label;
      const ref = field.$ref || (field.allOf && field.allOf[0].$ref);
      const enumValues = ref ? schema.$defs[ref.split("/").pop()].enum : field.enum;
      const value = cw.rules[key] !== undefined ? cw.rules[key] : field.default;
      let input;
      if (enumValues) {
        input = document.createElement("select");
        for (const v of enumValues) { const o = document.createElement("option"); o.textContent = v; input.append(o); }
        input.value = value;
      } else {
        input = document.createElement("input");
        input.type = "number";
        input.step = field.type === "integer" ? "1" : "any";
        for (const [attr, bound] of [["min", "minimum"], ["max", "maximum"], ["min", "exclusiveMinimum"]]) {
          if (field[bound] !== undefined) input[attr] = field[bound] * scale;
        }
        input.value = typeof value === "number" ? Math.round(value * scale * 1e6) / 1e6 : value;
      }
      input.name = key;
      input.id = `rule-${key}`;
      const help = document.createElement("p");
      help.className = "help";
      help.id = `rule-${key}-help`;
      help.textContent = text.help;
      input.setAttribute("aria-describedby", help.id);
      input.addEventListener("change", () => {
        const raw = input.value;
        cw.rules[key] = enumValues ? raw : raw === "" ? raw : Number(raw) / scale;
        input.classList.toggle("invalid", !enumValues && !input.checkValidity());
        scheduleValidate();
      });
      const unit = document.createElement("span");
      unit.className = "unit";
      unit.textContent = text.unit;
      row.append(label, input, unit, help);
      return row;
    }));
  }

  // ---- mouse ---------------------------------------------------------------------------------
  function finishDrawing() {
    if (!state.drawing) return;
    const needed = state.layer.startsWith("head:") ? 2 : 3;  // a box needs two opposite corners
    if (state.drawing.length < needed) { setStatus(t("this shape needs at least {n} corners", { n: needed }), true); return; }
    setShape(state.crosswalks[state.selected], state.layer, state.drawing);
    state.drawing = null;
    document.getElementById("finish").disabled = true;
    setStatus("");
    scheduleValidate();
  }
  canvas.addEventListener("mousedown", (event) => {
    if (event.button !== 0) return;
    const cw = state.crosswalks[state.selected];
    if (!cw) return;
    const p = eventPoint(event);
    if (state.drawing) {
      if (state.drawing.length >= 3 && nearVertex([state.drawing[0]], p) === 0) { finishDrawing(); return; }
      state.drawing.push(p);
      render();
      return;
    }
    const index = nearVertex(shapeOf(cw, state.layer), p);
    if (index >= 0) state.drag = index;
  });
  window.addEventListener("mousemove", (event) => {
    if (state.drag === null) return;
    moveVertex(state.crosswalks[state.selected], state.layer, state.drag, eventPoint(event, 0.25));
    render();
  });
  window.addEventListener("mouseup", () => {
    if (state.drag === null) return;
    state.drag = null;
    scheduleValidate();
  });
  canvas.addEventListener("dblclick", (event) => {
    if (state.drawing || state.layer.startsWith("head:")) return;  // boxes keep four corners
    const points = shapeOf(state.crosswalks[state.selected], state.layer);
    const p = eventPoint(event);
    const edge = nearEdge(points, p);
    if (edge >= 0 && nearVertex(points, p) < 0) { points.splice(edge + 1, 0, p); scheduleValidate(); render(); }
  });
  canvas.addEventListener("contextmenu", (event) => {
    event.preventDefault();
    if (state.layer.startsWith("head:")) return;
    const points = shapeOf(state.crosswalks[state.selected], state.layer);
    const index = nearVertex(points, eventPoint(event));
    if (index >= 0 && points.length > 3) { points.splice(index, 1); scheduleValidate(); render(); }
  });

  // ---- adding, removing and naming crosswalks ---------------------------------------------------
  function newCrosswalk(id, group) {
    // A placeholder in the middle of the picture, to be redrawn over the real stripes and curbs.
    const rect = (x1, y1, x2, y2) => [[x1, y1], [x2, y1], [x2, y2], [x1, y2]];
    return {
      id, signal_group: group, polygon: rect(0.4, 0.45, 0.6, 0.55),
      curbs: [{ name: "a", polygon: rect(0.3, 0.45, 0.39, 0.55) }, { name: "b", polygon: rect(0.61, 0.45, 0.7, 0.55) }],
      rules: {},
    };
  }
  document.getElementById("add-crosswalk").addEventListener("click", () => {
    document.getElementById("new-crosswalk").hidden = false;
    document.getElementById("new-id").focus();
  });
  document.getElementById("cancel-crosswalk").addEventListener("click", () => {
    document.getElementById("new-crosswalk").hidden = true;
  });
  document.getElementById("create-crosswalk").addEventListener("click", () => {
    const id = document.getElementById("new-id").value.trim();
    const group = document.getElementById("new-group").value.trim();
    if (!id || !group) { setStatus(t("a new crosswalk needs an id and a signal group"), true); return; }
    state.crosswalks.push(newCrosswalk(id, group));
    document.getElementById("new-crosswalk").hidden = true;
    fillCrosswalkSelect();
    selectCrosswalk(state.crosswalks.length - 1);
    scheduleValidate();
  });
  document.getElementById("remove-crosswalk").addEventListener("click", () => {
    const cw = state.crosswalks[state.selected];
    if (!cw || state.crosswalks.length < 2 || !confirm(t("Remove crosswalk {id}? (Only when you save.)", { id: cw.id }))) return;
    state.crosswalks.splice(state.selected, 1);
    fillCrosswalkSelect();
    selectCrosswalk(0);
    scheduleValidate();
  });
  document.getElementById("signal-group").addEventListener("change", (e) => {
    state.crosswalks[state.selected].signal_group = e.target.value.trim();
    scheduleValidate();
  });
  for (const j of [0, 1]) {
    document.getElementById(`curb${j}-input`).addEventListener("change", (e) => {
      state.crosswalks[state.selected].curbs[j].name = e.target.value.trim();
      selectCrosswalk(state.selected);
      scheduleValidate();
    });
  }

  // ---- buttons -------------------------------------------------------------------------------
  document.getElementById("crosswalk-select").addEventListener("change", (e) => selectCrosswalk(Number(e.target.value)));
  document.querySelectorAll('#layer-select input[name="layer"]').forEach((radio) => {
    radio.addEventListener("change", () => { state.layer = radio.value; state.drawing = null; render(); });
  });
  document.getElementById("redraw").addEventListener("click", () => {
    state.drawing = [];
    document.getElementById("finish").disabled = false;
    document.getElementById("save").disabled = true;
    setStatus(t("click the corners of the new shape, then Finish"));
    render();
  });
  document.getElementById("finish").addEventListener("click", finishDrawing);
  document.getElementById("save").addEventListener("click", save);
  document.getElementById("reload").addEventListener("click", load);
  window.addEventListener("resize", render);

  picture.addEventListener("load", () => {
    canvas.width = picture.naturalWidth;
    canvas.height = picture.naturalHeight;
    render();
  });
  picture.addEventListener("error", () => setStatus("no camera picture: drawing on a blank canvas (upload one via the API)"));
  picture.src = withCamera("/api/zones/background.jpg?t=" + Date.now());
  load();
})();
