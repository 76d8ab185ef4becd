/* Form layout editor: sections with columns, tabs and visibility rules; fields dragged
   between sections (SortableJS); child tables shown as such. Saves a FormSpec. */
"use strict";
(() => {
  const F = (J.formPanel = { entity: null, sections: [] });
  const sel = document.getElementById("form-entity");
  const box = document.getElementById("form-sections");
  const pool = document.getElementById("form-unplaced");

  const fieldLi = (f) => J.el("li", { class: "field-card" + (f.type === "child_table" ? " child" : ""), tabindex: "0", dataset: { name: f.name } },
    J.el("span", { class: "grip", "aria-hidden": "true", text: "⋮⋮" }), J.el("span", { class: "fl", text: J.label(f.label, f.name) }),
    f.type === "child_table" ? J.el("span", { class: "tag", text: J.t("child_table") }) : J.el("code", { text: f.name }));

  const load = () => {
    const ent = J.entity(F.entity);
    if (!ent) { box.replaceChildren(); pool.replaceChildren(); return; }
    const form = J.meta.draft.forms.find((x) => x.entity === F.entity && x.name === F.entity);
    F.sections = form ? JSON.parse(JSON.stringify(form.sections)) :
      [{ name: "main", label: { zh: "基本信息", en: "Basics" }, columns: 2, tab: null, fields: ent.fields.filter((f) => !f.archived).map((f) => f.name), visible_if: null }];
    render();
  };

  const collect = () => {
    [...box.querySelectorAll(".section")].forEach((node, i) => {
      F.sections[i].fields = [...node.querySelectorAll(".canvas > li")].map((li) => li.dataset.name);
    });
  };

  const render = () => {
    const ent = J.entity(F.entity);
    const byName = Object.fromEntries(ent.fields.filter((f) => !f.archived).map((f) => [f.name, f]));
    const placed = new Set();
    box.replaceChildren(...F.sections.map((s, i) => {
      const ul = J.el("ul", { class: "canvas cols-" + (s.columns || 1), "aria-label": J.label(s.label, s.name), "data-empty": J.t("drop_here") },
        ...s.fields.filter((n) => byName[n]).map((n) => { placed.add(n); return fieldLi(byName[n]); }));
      const title = J.el("input", { value: J.label(s.label, ""), oninput: (ev) => (s.label = { zh: ev.target.value, en: s.label && s.label.en || "" }) });
      const cols = J.el("select", { onchange: (ev) => { collect(); s.columns = +ev.target.value; render(); } }, ...[1, 2, 3, 4].map((n) => J.el("option", { value: n, text: String(n) })));
      cols.value = String(s.columns || 1);
      const tab = J.el("input", { value: s.tab || "", oninput: (ev) => (s.tab = ev.target.value || null) });
      const vis = J.exprBox({ label: J.t("visible_if"), value: s.visible_if || "", entity: () => F.entity, purpose: "visibility", onChange: (v) => (s.visible_if = v.trim() || null) });
      const node = J.el("div", { class: "card section" },
        J.el("div", { class: "section-head" }, J.field(J.t("section_label"), title), J.field(J.t("columns"), cols), J.field(J.t("tab"), tab),
          J.el("button", { type: "button", class: "btn small", "aria-label": J.t("delete") + " " + J.label(s.label, s.name), text: "✕",
            onclick: () => { collect(); F.sections.splice(i, 1); render(); } })),
        vis.node, ul);
      Sortable.create(ul, { group: "layout", animation: 120 });
      return node;
    }));
    pool.replaceChildren(...Object.values(byName).filter((f) => !placed.has(f.name)).map(fieldLi));
    Sortable.create(pool, { group: "layout", animation: 120 });
  };

  document.getElementById("add-section").addEventListener("click", () => {
    collect();
    const n = F.sections.length + 1;
    F.sections.push({ name: "section_" + n, label: { zh: "分区" + n, en: "Section " + n }, columns: 2, tab: null, fields: [], visible_if: null });
    render();
  });
  document.getElementById("save-form").addEventListener("click", async () => {
    collect();
    const ent = J.entity(F.entity);
    F.sections.forEach((s, i) => { if (!s.name) s.name = "section_" + (i + 1); });
    const body = { name: F.entity, entity: F.entity, label: ent.label, sections: F.sections };
    try { await J.api("PUT", J.metaUrl("/forms/" + F.entity), body); J.toast(J.t("saved")); await J.reload(); } catch (err) { J.fail(err); }
  });
  sel.addEventListener("change", () => { F.entity = sel.value; load(); });
  J.listeners.push(() => {
    J.fillEntitySelect(sel, F.entity);
    if (F.entity !== sel.value || !F.sections.length) { F.entity = sel.value; load(); }
  });
  F.show = () => { J.fillEntitySelect(sel, F.entity || (J.entitiesPanel && J.entitiesPanel.current)); F.entity = sel.value; load(); };
})();
