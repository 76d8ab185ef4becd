/* Formula editor: autocomplete, errors with their position, live preview on the first 5
   published records; saves a formula field (options.expression + result_type). */
"use strict";
(() => {
  const X = (J.formulaPanel = { entity: null, field: "" });
  const entSel = document.getElementById("fx-entity"), fieldSel = document.getElementById("fx-field");
  const label = document.getElementById("fx-label"), table = document.getElementById("fx-preview");
  const fnList = document.getElementById("fx-functions"), fnFilter = document.getElementById("fx-fn-filter");
  let box = null, result = null;

  const renderPreview = (res) => {
    result = res;
    const rows = res.rows || [];
    table.replaceChildren(J.el("thead", {}, J.el("tr", {}, J.el("th", { text: J.t("record") }), J.el("th", { text: J.t("value") }))),
      J.el("tbody", {}, ...(rows.length ? rows.map((r) => J.el("tr", {}, J.el("td", { text: `#${r.id} ${r.title ?? ""}` }),
        J.el("td", { class: r.error ? "err" : "val", text: r.error ? r.error.message : r.value === null ? "NULL" : String(r.value) }))) :
        [J.el("tr", {}, J.el("td", { colspan: "2", class: "hint", text: J.t("no_rows") }))])));
  };
  const fillFields = () => {
    const ent = J.entity(X.entity);
    const fx = ent ? ent.fields.filter((f) => f.type === "formula" && !f.archived) : [];
    fieldSel.replaceChildren(J.el("option", { value: "", text: "+ " + J.t("new_formula") }),
      ...fx.map((f) => J.el("option", { value: f.name, text: `${J.label(f.label, f.name)} (${f.name})` })));
    fieldSel.value = fx.some((f) => f.name === X.field) ? X.field : "";
  };
  const loadField = () => {
    X.field = fieldSel.value;
    const ent = J.entity(X.entity);
    const f = ent && ent.fields.find((x) => x.name === X.field);
    label.value = f ? f.label.zh : "";
    box = J.exprBox({ id: "fx-expr", label: J.t("expression"), multiline: true, preview: true, value: f ? f.options.expression : "",
      entity: () => X.entity, purpose: "formula", onResult: renderPreview, placeholder: "DAYS_BETWEEN(created_at, $now)" });
    document.getElementById("fx-editor").replaceChildren(box.node);
    renderPreview({ rows: [] });
  };
  const renderFunctions = async () => {
    const c = await J.completions(X.entity);
    const q = fnFilter.value.trim().toUpperCase();
    fnList.replaceChildren(...c.functions.filter((f) => !q || f.name.includes(q)).map((f) => J.el("li", {},
      J.el("button", { type: "button", class: "link", text: f.signature, onclick: () => {
        const i = box.input; const p = i.selectionStart ?? i.value.length;
        i.value = i.value.slice(0, p) + f.name + "(" + i.value.slice(p); i.focus(); i.dispatchEvent(new Event("input")); } }),
      J.el("small", { text: f.doc }))));
  };
  fnFilter.addEventListener("input", renderFunctions);
  entSel.addEventListener("change", () => { X.entity = entSel.value; X.field = ""; fillFields(); loadField(); renderFunctions(); });
  fieldSel.addEventListener("change", loadField);
  document.getElementById("fx-save").addEventListener("click", async () => {
    const expr = box.value;
    if (!expr) return;
    const ent = J.entity(X.entity);
    const existing = ent.fields.find((f) => f.name === X.field);
    let name = X.field;
    if (!existing) name = (await J.api("GET", "/api/designer/infer?label=" + encodeURIComponent(label.value || "formula"))).name;
    const rtype = (result && result.type) || "decimal";
    const opts = { expression: expr, result_type: ["integer", "decimal", "money", "percent", "boolean", "date", "datetime", "text"].includes(rtype) ? rtype : "text" };
    if (["decimal", "money", "percent"].includes(opts.result_type)) opts.scale = opts.result_type === "money" ? 2 : 4;
    const body = { ...(existing || {}), name, label: { zh: label.value || name, en: existing ? existing.label.en : "" }, type: "formula", options: opts };
    try {
      await J.api("PUT", J.metaUrl(`/entities/${X.entity}/fields/${X.field || name}`), body);
      X.field = name; J.toast(J.t("saved")); await J.reload();
    } catch (err) { J.fail(err); }
  });
  J.listeners.push(() => { if (X.entity && J.entity(X.entity)) fillFields(); });
  X.show = () => {
    const keep = X.entity || (J.entitiesPanel && J.entitiesPanel.current);
    J.fillEntitySelect(entSel, keep);
    if (X.entity !== entSel.value || !box) { X.entity = entSel.value; fillFields(); loadField(); }
    else fillFields();
    renderFunctions();
  };
})();
