/* Workflow editor: states as Drawflow nodes, transitions as connections; properties of
   states (initial/final/timers with their target) and transitions (roles, guard, inputs the
   user fills when firing, `set` assignments, approval steps); findings
   drawn on the graph (red outline). Saves the workflow (and the entity's state field). */
"use strict";
(() => {
  const W = (J.workflowPanel = { entity: null, wf: null, editor: null, nodeOf: {}, stateOf: {}, loading: false, findings: [] });
  const sel = document.getElementById("wf-entity");
  const props = document.getElementById("wf-props");
  const fromSel = document.getElementById("wf-from"), toSel = document.getElementById("wf-to");
  const posKey = () => `jimu.wf.${J.app.name}.${W.entity}`;

  const nodeHtml = (s) => `<div class="st"><b>${(J.label(s.label, s.name) || "").replace(/</g, "&lt;")}</b><code>${s.name}</code>` +
    `${s.initial ? `<span class="tag">${J.t("initial")}</span>` : ""}${s.final ? `<span class="tag">${J.t("final")}</span>` : ""}</div>`;

  const savePositions = () => {
    const pos = {};
    for (const [name, id] of Object.entries(W.nodeOf)) { const n = W.editor.getNodeFromId(id); pos[name] = [n.pos_x, n.pos_y]; }
    try { localStorage.setItem(posKey(), JSON.stringify(pos)); } catch (e) { /* private mode */ }
  };
  const addNode = (s, i) => {
    let pos = {};
    try { pos = JSON.parse(localStorage.getItem(posKey()) || "{}"); } catch (e) { pos = {}; }
    const [x, y] = pos[s.name] || [40 + (i % 4) * 230, 60 + Math.floor(i / 4) * 150];
    const id = W.editor.addNode(s.name, 1, 1, x, y, "state", { name: s.name }, nodeHtml(s));
    W.nodeOf[s.name] = id; W.stateOf[id] = s.name;
    return id;
  };
  const draw = () => {
    W.loading = true;
    W.editor.clear(); W.nodeOf = {}; W.stateOf = {};
    W.wf.states.forEach(addNode);
    for (const t of W.wf.transitions) for (const f of t.from) if (W.nodeOf[f] && W.nodeOf[t.to]) W.editor.addConnection(W.nodeOf[f], W.nodeOf[t.to], "output_1", "input_1");
    W.loading = false;
    fillStateSelects();
    markFindings();
  };
  const fillStateSelects = () => {
    const opts = () => W.wf.states.map((s) => J.el("option", { value: s.name, text: J.label(s.label, s.name) }));
    fromSel.replaceChildren(...opts()); toSel.replaceChildren(...opts());
    if (W.wf.states.length > 1) toSel.selectedIndex = 1;
  };
  const transitionFor = (from, to) => W.wf.transitions.find((t) => t.to === to && t.from.includes(from));
  const newTransition = (from, to) => {
    const taken = new Set(W.wf.transitions.map((t) => t.name));
    let name = "to_" + to, n = 2;
    while (taken.has(name)) name = "to_" + to + "_" + n++;
    const target = W.wf.states.find((s) => s.name === to);
    const t = { name, label: { zh: "转到" + J.label(target.label, to), en: "To " + to }, from: [from], to, roles: [], guard: null, approval: null };
    W.wf.transitions.push(t);
    return t;
  };
  W.addTransition = (from, to) => {
    if (transitionFor(from, to)) return;
    const t = newTransition(from, to);
    W.loading = true; W.editor.addConnection(W.nodeOf[from], W.nodeOf[to], "output_1", "input_1"); W.loading = false;
    showTransition(t); autoCheck();
  };
  W.addState = async (label) => {
    const r = await J.api("GET", "/api/designer/infer?label=" + encodeURIComponent(label));
    let name = r.name, n = 2;
    while (W.wf.states.some((s) => s.name === name)) name = r.name + "_" + n++;
    const s = { name, label: { zh: label, en: "" }, initial: !W.wf.states.length, final: false };
    W.wf.states.push(s);
    addNode(s, W.wf.states.length - 1);
    fillStateSelects(); showState(s); autoCheck();
  };

  const refreshNode = (s) => {
    const id = W.nodeOf[s.name];
    const node = document.querySelector(`#node-${id} .drawflow_content_node`);
    if (node) node.innerHTML = nodeHtml(s);
  };
  const inp = (label, value, on, extra) => J.field(label, J.el("input", { value: value ?? "", oninput: (ev) => on(ev.target.value), ...(extra || {}) }));
  const chk = (label, value, on) => { const c = J.el("input", { type: "checkbox", onchange: (ev) => on(ev.target.checked) }); c.checked = !!value; return J.field(label, c); };

  const showState = (s) => {
    props.replaceChildren(J.el("h2", { text: J.t("state_label") + " · " + s.name }));
    const timers = W.wf.timers.filter((x) => x.state === s.name);
    const timerBox = J.el("div", { class: "stack" });
    const drawTimers = () => timerBox.replaceChildren(...timers.map((tm) => {
      tm.action = tm.action || {};
      const target = J.el("div", { class: "timer-target" });
      const drawTarget = () => target.replaceChildren((tm.action.kind || "notify") === "notify"
        ? inp(J.t("timer_to"), tm.action.to, (v) => { if (v.trim()) tm.action.to = v.trim(); else delete tm.action.to; autoCheck(); }, { class: "timer-to", placeholder: "approvers" })
        : (tm.action.kind === "escalate" ? J.el("small", { class: "hint", text: J.t("escalate_hint") }) : ""));
      const act = J.el("select", { onchange: (ev) => { tm.action.kind = ev.target.value; if (ev.target.value !== "notify") delete tm.action.to; drawTarget(); autoCheck(); } },
        J.el("option", { value: "notify", text: J.t("notify") }), J.el("option", { value: "escalate", text: J.t("escalate") }));
      act.value = tm.action.kind || "notify";
      drawTarget();
      return J.el("div", { class: "row" }, inp(J.t("timer_after"), tm.after, (v) => { tm.after = v; autoCheck(); }), J.field(J.t("timer_action"), act), target,
        J.el("button", { type: "button", class: "btn small", text: "✕", "aria-label": J.t("delete"), onclick: () => { W.wf.timers.splice(W.wf.timers.indexOf(tm), 1); timers.splice(timers.indexOf(tm), 1); drawTimers(); } }));
    }));
    drawTimers();
    props.append(J.el("div", { class: "stack" },
      inp(J.t("label_zh"), s.label.zh, (v) => { s.label.zh = v; refreshNode(s); }),
      inp(J.t("label_en"), s.label.en, (v) => { s.label.en = v; }),
      chk(J.t("initial"), s.initial, (v) => { W.wf.states.forEach((x) => { x.initial = false; refreshNode(x); }); s.initial = v; refreshNode(s); autoCheck(); }),
      chk(J.t("final"), s.final, (v) => { s.final = v; refreshNode(s); autoCheck(); }),
      J.el("h3", { text: J.t("timers") }), timerBox,
      J.el("button", { type: "button", class: "btn small", text: "+ " + J.t("timers"), onclick: () => {
        const tm = { name: `${s.name}_timer_${W.wf.timers.length + 1}`, state: s.name, after: "PT48H", action: { kind: "escalate" } };
        W.wf.timers.push(tm); timers.push(tm); drawTimers(); } }),
      J.el("button", { type: "button", class: "btn danger", text: J.t("delete"), onclick: () => W.editor.removeNodeId("node-" + W.nodeOf[s.name]) })));
  };

  const showTransition = (t) => {
    props.replaceChildren(J.el("h2", { text: J.t("transition") + " · " + t.from.join(",") + " → " + t.to }));
    const roleNames = ["admin", ...J.meta.draft.roles.map((r) => r.name).filter((n) => n !== "admin")];
    const roles = J.el("fieldset", { class: "roles" }, J.el("legend", { text: J.t("roles") }), ...roleNames.map((r) => {
      const c = J.el("input", { type: "checkbox", onchange: (ev) => { t.roles = ev.target.checked ? [...t.roles, r] : t.roles.filter((x) => x !== r); autoCheck(); } });
      c.checked = t.roles.includes(r);
      return J.field(r, c);
    }));
    const guard = J.exprBox({ label: J.t("guard"), value: t.guard || "", entity: () => W.entity, purpose: "guard", onChange: (v) => (t.guard = v.trim() || null) });
    const steps = J.el("div", { class: "stack" });
    const drawSteps = () => steps.replaceChildren(...(t.approval ? t.approval.steps : []).map((st, i) => {
      const rule = st.approvers[0] || (st.approvers[0] = { kind: "role", value: "" });
      const kind = J.el("select", { onchange: (ev) => { rule.kind = ev.target.value; autoCheck(); } }, ...["role", "field", "manager", "expression", "user"].map((k) => J.el("option", { value: k, text: k })));
      kind.value = rule.kind;
      const mode = J.el("select", { onchange: (ev) => { st.mode = ev.target.value; } }, ...["any", "all", "n_of_m"].map((k) => J.el("option", { value: k, text: J.t("mode_" + k) })));
      mode.value = st.mode || "any";
      const cond = J.exprBox({ label: J.t("condition"), value: st.condition || "", entity: () => W.entity, purpose: "condition", onChange: (v) => (st.condition = v.trim() || null) });
      return J.el("div", { class: "card step" }, J.el("h4", { text: `${i + 1}. ${st.name}` }),
        J.field(J.t("approver_kind"), kind), inp(J.t("approver_value"), rule.value, (v) => { rule.value = v; autoCheck(); }, { class: "approver-value" }),
        J.field(J.t("mode"), mode), inp(J.t("n"), st.n, (v) => (st.n = v ? +v : null), { type: "number", min: 1 }),
        cond.node, inp(J.t("fallback_role"), st.fallback_role, (v) => (st.fallback_role = v || null)),
        J.el("button", { type: "button", class: "btn small", text: "✕ " + J.t("delete"), onclick: () => { t.approval.steps.splice(i, 1); drawSteps(); autoCheck(); } }));
    }));
    drawSteps();
    t.inputs = t.inputs || []; t.set = t.set || {};
    const inputTypes = ["text", "long_text", "integer", "decimal", "money", "percent", "boolean", "date", "datetime", "choice", "user", "link", "attachment"];
    const inputsBox = J.el("div", { class: "stack wf-inputs" });
    const drawInputs = () => inputsBox.replaceChildren(...t.inputs.map((f, i) => {
      f.label = f.label || { zh: "", en: "" };
      const type = J.el("select", { class: "input-type", onchange: (ev) => { f.type = ev.target.value; autoCheck(); } },
        ...[...new Set([...inputTypes, f.type])].map((k) => J.el("option", { value: k, text: k })));
      type.value = f.type;
      return J.el("div", { class: "card wf-input" },
        inp(J.t("input_name"), f.name, (v) => { f.name = v.trim(); autoCheck(); }, { class: "input-name" }),
        J.field(J.t("input_type"), type),
        inp(J.t("label_zh"), f.label.zh, (v) => { f.label.zh = v; }, { class: "input-label-zh" }),
        inp(J.t("label_en"), f.label.en, (v) => { f.label.en = v; }, { class: "input-label-en" }),
        chk(J.t("required"), f.required, (v) => { f.required = v; }),
        J.el("button", { type: "button", class: "btn small", text: "✕ " + J.t("delete"), onclick: () => { t.inputs.splice(i, 1); drawInputs(); autoCheck(); } }));
    }));
    drawInputs();
    const setRows = Object.entries(t.set).map(([field, expr]) => ({ field, expr }));
    const syncSet = () => { t.set = Object.fromEntries(setRows.filter((r) => r.field).map((r) => [r.field, r.expr])); autoCheck(); };
    const inputNames = () => Object.fromEntries(t.inputs.filter((f) => f.name).map((f) => [f.name, f.type]));
    const setBox = J.el("div", { class: "stack wf-set" });
    const drawSet = () => setBox.replaceChildren(...setRows.map((row, i) => {
      const fields = (J.entity(W.entity) || { fields: [] }).fields.filter((f) => !f.archived && f.name !== W.wf.state_field && f.type !== "child_table");
      const names = fields.map((f) => f.name);
      const field = J.el("select", { class: "set-field", onchange: (ev) => { row.field = ev.target.value; syncSet(); } },
        J.el("option", { value: "", text: "—" }), ...fields.map((f) => J.el("option", { value: f.name, text: `${J.label(f.label, f.name)} (${f.name})` })),
        ...(row.field && !names.includes(row.field) ? [J.el("option", { value: row.field, text: row.field + " ?" })] : []));
      field.value = row.field;
      const expr = J.exprBox({ label: J.t("set_expr"), value: row.expr, entity: () => W.entity, purpose: "formula", extraNames: inputNames,
        onChange: (v) => { row.expr = v; syncSet(); } });
      return J.el("div", { class: "card wf-set-row" }, J.field(J.t("set_field"), field), expr.node,
        J.el("button", { type: "button", class: "btn small", text: "✕ " + J.t("delete"), onclick: () => { setRows.splice(i, 1); drawSet(); syncSet(); } }));
    }));
    drawSet();
    props.append(J.el("div", { class: "stack" },
      inp(J.t("name"), t.name, (v) => (t.name = v), { id: "wf-t-name" }),
      inp(J.t("label_zh"), t.label.zh, (v) => (t.label.zh = v)), inp(J.t("label_en"), t.label.en, (v) => (t.label.en = v)),
      roles, guard.node,
      J.el("h3", { text: J.t("inputs") }), inputsBox,
      J.el("button", { type: "button", class: "btn small", id: "wf-add-input", text: "+ " + J.t("add_input"), onclick: () => {
        let n = t.inputs.length + 1;
        while (t.inputs.some((f) => f.name === "input_" + n)) n++;
        t.inputs.push({ name: "input_" + n, type: "text", label: { zh: "", en: "" }, required: false }); drawInputs(); autoCheck(); } }),
      J.el("h3", { text: J.t("set_fields") }), setBox,
      J.el("button", { type: "button", class: "btn small", id: "wf-add-set", text: "+ " + J.t("add_set"), onclick: () => {
        setRows.push({ field: "", expr: "" }); drawSet(); } }),
      J.el("h3", { text: J.t("approval") }), steps,
      J.el("button", { type: "button", class: "btn small", id: "wf-add-step", text: "+ " + J.t("add_step"), onclick: () => {
        t.approval = t.approval || { steps: [], reject_to: null };
        t.approval.steps.push({ name: "step_" + (t.approval.steps.length + 1), label: { zh: "审批" + (t.approval.steps.length + 1), en: "" },
          approvers: [{ kind: "role", value: "admin" }], mode: "any", n: null, condition: null, fallback_role: "admin" });
        drawSteps(); autoCheck(); } }),
      J.el("button", { type: "button", class: "btn danger", text: J.t("delete"), onclick: () => {
        for (const f of t.from) W.editor.removeSingleConnection(W.nodeOf[f], W.nodeOf[t.to], "output_1", "input_1");
        W.wf.transitions = W.wf.transitions.filter((x) => x !== t); props.replaceChildren(); autoCheck(); } })));
  };

  const markFindings = () => {
    document.querySelectorAll("#drawflow .drawflow-node").forEach((n) => { n.classList.remove("has-finding"); n.removeAttribute("title"); });
    document.querySelectorAll("#drawflow .connection").forEach((c) => c.classList.remove("has-finding"));
    for (const f of W.findings) {
      const t = f.transition && W.wf.transitions.find((x) => x.name === f.transition);
      const states = f.state ? [f.state] : [];
      for (const s of states) {
        const node = document.getElementById("node-" + W.nodeOf[s]);
        if (node) { node.classList.add("has-finding"); node.title = f.message; }
      }
      if (t) for (const from of t.from) {
        const c = document.querySelector(`#drawflow .connection.node_in_node-${W.nodeOf[t.to]}.node_out_node-${W.nodeOf[from]}`);
        if (c) c.classList.add("has-finding");
      }
    }
    const ul = document.getElementById("wf-findings");
    ul.replaceChildren(...(W.findings.length ? W.findings.map((f) => J.el("li", { class: "sev-" + f.severity },
      J.el("span", { class: "tag sev", text: f.severity }), J.el("code", { text: f.id }), " ", f.message, " ", J.el("small", { class: "path", text: f.path }), f.hint ? J.el("small", { text: " — " + f.hint }) : "")) :
      [J.el("li", { class: "ok", text: J.t("no_findings") })]));
  };
  const body = () => JSON.parse(JSON.stringify(W.wf));
  const check = async () => {
    if (!W.wf) return;
    try { W.findings = (await J.api("POST", J.dUrl("/workflow-check"), { workflow: body() })).findings; markFindings(); } catch (err) { J.fail(err); }
  };
  const autoCheck = J.debounce(check, 300);

  W.save = async () => {
    const ent = J.entity(W.entity);
    const choices = W.wf.states.map((s) => ({ value: s.name, label: s.label.zh || s.name }));
    const stateField = ent.fields.find((f) => f.name === "state");
    try {
      if (!stateField || JSON.stringify((stateField.options || {}).choices) !== JSON.stringify(choices)) {
        const base = stateField || { name: "state", label: { zh: "状态", en: "State" }, type: "choice" };
        await J.api("PUT", J.metaUrl(`/entities/${W.entity}/fields/state`), { ...base, type: "choice", options: { ...(base.options || {}), choices } });
      }
      await J.api("PUT", J.dUrl("/workflows/" + encodeURIComponent(W.wf.name)), body());
      J.toast(J.t("saved"));
      await J.reload();
      await check();
    } catch (err) {
      J.fail(err);
      const found = err.data && err.data.findings;
      if (found) {
        const at = (p, key) => { const parts = p.split("."), i = parts.indexOf(key); return i >= 0 && i + 1 < parts.length ? parts[i + 1] : null; };
        W.findings = found.filter((f) => f.path.startsWith("workflows.")).map((f) => ({ ...f, state: at(f.path, "states"), transition: at(f.path, "transitions") }));
        markFindings();
      }
    }
  };

  const load = () => {
    const wf = J.meta.draft.workflows.find((w) => w.entity === W.entity);
    W.wf = wf ? JSON.parse(JSON.stringify(wf)) : { name: W.entity, entity: W.entity, label: { zh: "", en: "" }, state_field: "state", states: [], transitions: [], timers: [] };
    W.findings = [];
    draw();
    props.replaceChildren(J.el("h2", { text: J.t("properties") }), J.el("p", { class: "hint", text: J.t("select_graph") }));
    if (W.wf.states.length) check();
  };

  W.init = () => {
    const container = document.getElementById("drawflow");
    W.editor = new Drawflow(container);
    W.editor.reroute = false;
    W.editor.start();
    W.editor.on("connectionCreated", (c) => {
      if (W.loading) return;
      const from = W.stateOf[c.output_id], to = W.stateOf[c.input_id];
      if (!from || !to || transitionFor(from, to)) return;
      showTransition(newTransition(from, to)); autoCheck();
    });
    W.editor.on("connectionRemoved", (c) => {
      if (W.loading) return;
      const from = W.stateOf[c.output_id], to = W.stateOf[c.input_id];
      const t = transitionFor(from, to);
      if (t) { t.from = t.from.filter((x) => x !== from); if (!t.from.length) W.wf.transitions = W.wf.transitions.filter((x) => x !== t); }
      autoCheck();
    });
    W.editor.on("nodeSelected", (id) => { const s = W.wf.states.find((x) => x.name === W.stateOf[id]); if (s) showState(s); });
    W.editor.on("connectionSelected", (c) => { const t = transitionFor(W.stateOf[c.output_id], W.stateOf[c.input_id]); if (t) showTransition(t); });
    W.editor.on("nodeMoved", savePositions);
    W.editor.on("nodeRemoved", (id) => {
      const name = W.stateOf[id];
      if (!name) return;
      W.wf.states = W.wf.states.filter((s) => s.name !== name);
      W.wf.transitions = W.wf.transitions.filter((t) => t.to !== name).map((t) => ({ ...t, from: t.from.filter((f) => f !== name) })).filter((t) => t.from.length);
      delete W.nodeOf[name]; delete W.stateOf[id];
      fillStateSelects(); autoCheck();
    });
    document.getElementById("wf-add-state").addEventListener("click", () => {
      const lbl = document.getElementById("wf-state-label");
      if (lbl.value.trim()) { W.addState(lbl.value.trim()); lbl.value = ""; lbl.focus(); }
    });
    document.getElementById("wf-state-label").addEventListener("keydown", (ev) => { if (ev.key === "Enter") document.getElementById("wf-add-state").click(); });
    document.getElementById("wf-add-transition").addEventListener("click", () => { if (fromSel.value && toSel.value) W.addTransition(fromSel.value, toSel.value); });
    document.getElementById("wf-check").addEventListener("click", check);
    document.getElementById("wf-save").addEventListener("click", W.save);
    sel.addEventListener("change", () => { W.entity = sel.value; load(); });
  };
  W.show = () => {
    J.fillEntitySelect(sel, W.entity || (J.entitiesPanel && J.entitiesPanel.current));
    if (W.entity !== sel.value || !W.wf) { W.entity = sel.value; load(); }
  };
  J.listeners.push(() => J.fillEntitySelect(sel, W.entity));
})();
