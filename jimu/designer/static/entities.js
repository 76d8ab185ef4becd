/* Entity & field designer: entity list, palette, drag-and-drop form canvas (SortableJS),
   properties panel with type inference, choices, link target, default and validation. */
"use strict";
(() => {
  const E = (J.entitiesPanel = { current: null, selected: null, palette: [] });
  const list = document.getElementById("entity-list");
  const canvas = document.getElementById("field-canvas");
  const props = document.getElementById("field-props");
  const pal = document.getElementById("palette");

  const typeName = (type) => {
    const p = E.palette.find((x) => x.type === type);
    return p ? (J.lang === "en" ? p.en : p.zh) : type;
  };
  const defaultsFor = (type) => {
    if (type === "choice" || type === "multi_choice")
      return { choices: [{ value: "a", label: J.lang === "en" ? "Option A" : "选项A" }, { value: "b", label: J.lang === "en" ? "Option B" : "选项B" }] };
    if (type === "link" || type === "child_table") {
      const other = J.entities().find((e) => e.name !== E.current);
      return { entity: other ? other.name : E.current };
    }
    if (type === "formula") return { expression: "1", result_type: "decimal" };
    if (type === "auto_number") return { pattern: "NO-{YYYY}{MM}-{####}" };
    return {};
  };
  const fieldUrl = (entity, field) => J.metaUrl(`/entities/${entity}/fields/${field}`);

  /* Create a field of ``type`` (from the palette) at ``index``. */
  E.addField = async (type, index) => {
    const ent = J.entity(E.current);
    if (!ent) return J.toast(J.t("select_entity"), true);
    const smart = type === "smart";
    const base = smart ? J.t("new_field") : typeName(type);
    let n = 1;
    const taken = new Set(ent.fields.map((f) => f.name));
    let label, name;
    do {
      label = base + n;
      name = (await J.api("GET", "/api/designer/infer?label=" + encodeURIComponent(label))).name;
      n++;
    } while (taken.has(name));
    const ftype = smart ? "text" : type;
    const body = { name, label: { zh: label, en: "" }, type: ftype, options: defaultsFor(ftype) };
    try {
      await J.api("PUT", fieldUrl(E.current, name), body);
      if (index !== undefined && index < ent.fields.length) {
        const names = ent.fields.map((f) => f.name);
        names.splice(index, 0, name);
        await E.reorder(names, [{ ...body }]);
      }
      E.selected = name;
      E.smart = smart;
      E.fresh = true;
      await J.reload();
      const lbl = document.getElementById("prop-label-zh");
      if (lbl) { lbl.focus(); lbl.select(); }
    } catch (err) { J.fail(err); }
  };

  /* Save the entity with its fields in ``names`` order (meta API PUT entity). */
  E.reorder = async (names, extra) => {
    const ent = JSON.parse(JSON.stringify(J.entity(E.current)));
    const byName = Object.fromEntries([...ent.fields, ...(extra || [])].map((f) => [f.name, f]));
    const archived = ent.fields.filter((f) => f.archived && !names.includes(f.name));
    ent.fields = [...names.map((n) => byName[n]).filter(Boolean), ...archived];
    await J.api("PUT", J.metaUrl(`/entities/${ent.name}`), ent);
  };

  const renderList = () => {
    list.replaceChildren(...J.entities().map((e) => J.el("li", {},
      J.el("button", { type: "button", class: e.name === E.current ? "item active" : "item", "aria-pressed": String(e.name === E.current),
        onclick: () => { E.current = e.name; E.selected = null; render(); } },
        J.el("span", { text: J.label(e.label, e.name) }), J.el("code", { text: e.name })))));
  };

  const renderCanvas = () => {
    const ent = J.entity(E.current);
    document.getElementById("canvas-entity").textContent = ent ? `${J.label(ent.label, ent.name)} (${ent.name})` : J.t("select_entity");
    canvas.replaceChildren(...(ent ? ent.fields.filter((f) => !f.archived) : []).map((f) => J.el("li", {
      class: "field-card" + (f.name === E.selected ? " selected" : ""), tabindex: "0", dataset: { name: f.name },
      "aria-label": `${J.label(f.label, f.name)} ${typeName(f.type)}`,
      onclick: () => { E.selected = f.name; E.smart = false; E.fresh = false; render(); },
      onkeydown: (ev) => {
        if (ev.key === "Enter") { E.selected = f.name; render(); }
        if (ev.altKey && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) { ev.preventDefault(); move(f.name, ev.key === "ArrowUp" ? -1 : 1); }
      },
    }, J.el("span", { class: "grip", "aria-hidden": "true", text: "⋮⋮" }),
      J.el("span", { class: "fl", text: J.label(f.label, f.name) + (f.required ? " *" : "") }),
      J.el("code", { text: f.name }), J.el("span", { class: "tag", text: typeName(f.type) }))));
    canvas.classList.toggle("empty", !canvas.children.length);
  };

  const move = async (name, delta) => {
    const names = J.entity(E.current).fields.filter((f) => !f.archived).map((f) => f.name);
    const i = names.indexOf(name), j = i + delta;
    if (j < 0 || j >= names.length) return;
    [names[i], names[j]] = [names[j], names[i]];
    try { await E.reorder(names); await J.reload(); } catch (err) { J.fail(err); }
  };

  const renderProps = () => {
    const ent = J.entity(E.current);
    const f = ent && ent.fields.find((x) => x.name === E.selected);
    props.replaceChildren(J.el("h2", { text: J.t("properties") }));
    if (!f) return props.append(J.el("p", { class: "hint", text: J.t("select_field") }));
    const orig = f.name;
    let nameTouched = !E.fresh;
    const inp = (id, value, extra) => J.el("input", { id, value: value ?? "", ...(extra || {}) });
    const zh = inp("prop-label-zh", f.label.zh), en = inp("prop-label-en", f.label.en);
    const name = inp("prop-name", f.name, { pattern: "[a-z][a-z0-9_]*" });
    const type = J.el("select", { id: "prop-type" }, ...E.palette.map((p) => J.el("option", { value: p.type, text: `${p.icon} ${J.lang === "en" ? p.en : p.zh}` })));
    type.value = f.type;
    const chk = (id, v) => { const c = J.el("input", { id, type: "checkbox" }); c.checked = !!v; return c; };
    const required = chk("prop-required", f.required), unique = chk("prop-unique", f.unique), indexed = chk("prop-indexed", f.indexed);
    const suggestion = J.el("div", { class: "suggest", "aria-live": "polite" });
    const inferNow = J.debounce(async () => {
      const r = await J.api("GET", "/api/designer/infer?label=" + encodeURIComponent(zh.value || en.value));
      if (!nameTouched && r.name) name.value = r.name;
      suggestion.replaceChildren();
      if (r.type !== type.value && r.type !== "text") {
        if (E.smart) { type.value = r.type; E.inferredOptions = r.options; renderOptions(); }
        else suggestion.append(J.t("suggested_type") + ": " + typeName(r.type) + " ",
          J.el("button", { type: "button", class: "btn small", text: J.t("apply"), onclick: () => { type.value = r.type; E.inferredOptions = r.options; renderOptions(); suggestion.replaceChildren(); } }));
      }
    }, 200);
    zh.addEventListener("input", inferNow);
    name.addEventListener("input", () => (nameTouched = true));
    const optsBox = J.el("div", { class: "opts" });
    let choices = JSON.parse(JSON.stringify((f.options && f.options.choices) || []));
    const target = J.el("select", { id: "prop-target" }, ...J.entities().map((e) => J.el("option", { value: e.name, text: `${J.label(e.label, e.name)} (${e.name})` })));
    target.value = (f.options && f.options.entity) || "";
    const formulaBox = J.exprBox({ label: J.t("expression"), value: (f.options && f.options.expression) || "", entity: () => E.current, purpose: "formula", id: "prop-formula" });
    const renderOptions = () => {
      optsBox.replaceChildren();
      const t = type.value;
      if (t === "choice" || t === "multi_choice") {
        if (!choices.length) choices = (E.inferredOptions && E.inferredOptions.choices && E.inferredOptions.choices.length ? E.inferredOptions.choices : defaultsFor(t).choices);
        const rows = J.el("div", { class: "choices" });
        const draw = () => rows.replaceChildren(...choices.map((c, i) => J.el("div", { class: "choice-row" },
          J.field(J.t("choice_value") + " " + (i + 1), J.el("input", { value: c.value, oninput: (ev) => (c.value = ev.target.value) })),
          J.field(J.t("choice_label") + " " + (i + 1), J.el("input", { value: J.label(c.label, ""), oninput: (ev) => (c.label = ev.target.value) })),
          J.el("button", { type: "button", class: "btn small", "aria-label": J.t("delete") + " " + (i + 1), text: "✕", onclick: () => { choices.splice(i, 1); draw(); } }))));
        draw();
        optsBox.append(J.el("h3", { text: J.t("choices") }), rows,
          J.el("button", { type: "button", class: "btn small", text: "+ " + J.t("add_choice"), onclick: () => { choices.push({ value: "v" + (choices.length + 1), label: "" }); draw(); } }));
      } else if (t === "link" || t === "child_table") {
        optsBox.append(J.field(J.t("link_target"), target));
      } else if (t === "formula") {
        optsBox.append(formulaBox.node);
      }
    };
    type.addEventListener("change", () => { choices = []; renderOptions(); });
    renderOptions();
    const deflt = J.exprBox({ label: J.t("default"), value: typeof f.default === "string" ? f.default : (f.default ?? "") === "" ? "" : JSON.stringify(f.default), entity: () => E.current, purpose: "default", id: "prop-default" });
    const valid = J.exprBox({ label: J.t("validation"), value: f.validation ? f.validation.expression : "", entity: () => E.current, purpose: "validation", id: "prop-validation" });
    const vmsg = inp("prop-vmsg", f.validation ? J.label(f.validation.message, "") : "");
    const help = inp("prop-help", f.help ? J.label(f.help, "") : "");
    const save = async (ev) => {
      ev.preventDefault();
      if (!nameTouched && (zh.value || en.value)) {
        const r = await J.api("GET", "/api/designer/infer?label=" + encodeURIComponent(zh.value || en.value));
        if (r.name) name.value = r.name;
      }
      const t = type.value;
      const options = { ...(f.type === t ? f.options : {}), ...(E.inferredOptions && t !== f.type ? E.inferredOptions : {}) };
      if (t === "choice" || t === "multi_choice") options.choices = choices.filter((c) => c.value);
      else delete options.choices;
      if (t === "link" || t === "child_table") options.entity = target.value;
      if (t === "formula") { options.expression = formulaBox.value || "1"; options.result_type = (formulaBox.result && formulaBox.result.type) || options.result_type || "decimal"; }
      let dv = deflt.value;
      if (dv !== null && ["true", "false"].includes(dv)) dv = dv === "true";
      const body = { ...f, name: name.value, label: { zh: zh.value, en: en.value }, type: t, required: required.checked,
        unique: unique.checked, indexed: indexed.checked, options, default: dv,
        validation: valid.value ? { expression: valid.value, message: { zh: vmsg.value, en: "" } } : null,
        help: help.value ? { zh: help.value, en: "" } : null };
      try {
        await J.api("PUT", fieldUrl(E.current, orig), body);
        E.selected = name.value; E.smart = false; E.fresh = false; E.inferredOptions = null;
        J.toast(J.t("saved"));
        await J.reload();
      } catch (err) { J.fail(err); }
    };
    const archive = async () => {
      try { await J.api("DELETE", fieldUrl(E.current, orig)); E.selected = null; await J.reload(); } catch (err) { J.fail(err); }
    };
    props.append(J.el("form", { id: "field-form", class: "stack", onsubmit: save },
      J.field(J.t("label_zh"), zh), J.field(J.t("label_en"), en), J.field(J.t("name"), name),
      J.field(J.t("type"), type), suggestion,
      J.el("div", { class: "checks" }, J.field(J.t("required"), required), J.field(J.t("unique"), unique), J.field(J.t("indexed"), indexed)),
      optsBox, deflt.node, valid.node, J.field(J.t("validation_msg"), vmsg), J.field(J.t("help"), help),
      J.el("div", { class: "actions" }, J.el("button", { class: "btn primary", type: "submit", id: "prop-save", text: J.t("save") }),
        J.el("button", { class: "btn danger", type: "button", text: J.t("archive"), onclick: archive }))));
  };

  const renderPalette = () => {
    const items = [{ type: "smart", zh: J.t("smart_field"), en: J.t("smart_field"), icon: "✨" }, ...E.palette];
    pal.replaceChildren(...items.map((p) => J.el("li", {
      class: "pal-item", tabindex: "0", dataset: { type: p.type }, role: "button",
      title: p.type === "smart" ? J.t("smart_hint") : p.type, "aria-label": (J.lang === "en" ? p.en : p.zh),
      onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); E.addField(p.type); } },
      ondblclick: () => E.addField(p.type),
    }, J.el("span", { class: "ico", "aria-hidden": "true", text: p.icon }), J.el("span", { text: J.lang === "en" ? p.en : p.zh }))));
  };

  const render = () => { renderList(); renderCanvas(); renderProps(); };

  document.getElementById("new-entity-label").addEventListener("input", J.debounce(async (ev) => {
    const r = await J.api("GET", "/api/designer/infer?label=" + encodeURIComponent(ev.target.value));
    document.getElementById("new-entity-name").value = r.name;
  }, 200));
  document.getElementById("new-entity").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const label = document.getElementById("new-entity-label").value, name = document.getElementById("new-entity-name").value;
    try {
      await J.api("PUT", J.metaUrl("/entities/" + name), { name, label: { zh: label, en: "" }, fields: [] });
      E.current = name; E.selected = null;
      ev.target.reset();
      await J.reload();
    } catch (err) { J.fail(err); }
  });

  E.init = async () => {
    E.palette = (await J.api("GET", "/api/designer/field-types")).data;
    renderPalette();
    Sortable.create(pal, { group: { name: "fields", pull: "clone", put: false }, sort: false, animation: 120, forceFallback: true });
    Sortable.create(canvas, {
      group: { name: "fields", pull: false, put: true }, animation: 120, forceFallback: true,
      onAdd: (ev) => { const type = ev.item.dataset.type, idx = ev.newIndex; ev.item.remove(); E.addField(type, idx); },
      onUpdate: async () => {
        const names = [...canvas.children].map((li) => li.dataset.name).filter(Boolean);
        try { await E.reorder(names); await J.reload(); } catch (err) { J.fail(err); }
      },
    });
  };
  J.listeners.push(() => {
    if (!E.current || !J.entity(E.current)) E.current = J.entities().length ? J.entities()[0].name : null;
    render();
  });
})();
