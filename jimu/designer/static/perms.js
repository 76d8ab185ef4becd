/* Permission matrix: per role, entities × rights (create/read/update/delete/export and
   transitions), a row filter, field access (hidden/read/write/mask) and a "view as role"
   preview rendered by the access layer. Saves the role through the meta API. */
"use strict";
(() => {
  const P = (J.permsPanel = { role: null, data: null, fieldEntity: null });
  const roleSel = document.getElementById("perm-role");
  const matrix = document.getElementById("perm-matrix");
  const fieldsBox = document.getElementById("perm-fields");
  const entSel = document.getElementById("perm-field-entity");
  const viewBox = document.getElementById("view-as");
  const RIGHTS = ["create", "read", "update", "delete", "export"];

  const rights = (ent) => {
    const r = P.role.entities;
    if (!r[ent]) r[ent] = { create: false, read: false, update: false, delete: false, export: false, transitions: [], row_filter: null, fields: {} };
    return r[ent];
  };
  const renderMatrix = () => {
    const head = J.el("tr", {}, J.el("th", { scope: "col", text: J.t("entity") }), ...RIGHTS.map((k) => J.el("th", { scope: "col", text: J.t("right_" + k) })),
      J.el("th", { scope: "col", text: J.t("transitions") }), J.el("th", { scope: "col", text: J.t("row_filter") }));
    const rows = P.data.entities.map((e) => {
      const er = P.role.entities[e.name] || {};
      const cells = RIGHTS.map((k) => {
        const c = J.el("input", { type: "checkbox", id: `perm-${e.name}-${k}`, "aria-label": `${J.label(e, e.name)} ${J.t("right_" + k)}`,
          onchange: (ev) => { rights(e.name)[k] = ev.target.checked; } });
        c.checked = !!er[k];
        return J.el("td", { class: "c" }, c);
      });
      const tr = J.el("td", {}, ...e.transitions.map((t) => {
        const c = J.el("input", { type: "checkbox", onchange: (ev) => { const r = rights(e.name); r.transitions = ev.target.checked ? [...r.transitions, t] : r.transitions.filter((x) => x !== t); } });
        c.checked = (er.transitions || []).includes(t);
        return J.field(t, c);
      }));
      const rf = J.exprBox({ label: J.t("row_filter"), value: er.row_filter || "", entity: e.name, purpose: "row_filter", onChange: (v) => { rights(e.name).row_filter = v.trim() || null; } });
      rf.node.querySelector("label").classList.add("sr-only");
      return J.el("tr", {}, J.el("th", { scope: "row", text: `${J.lang === "en" ? e.en || e.zh : e.zh || e.en || e.name} (${e.name})` }), ...cells, tr, J.el("td", {}, rf.node));
    });
    matrix.replaceChildren(J.el("thead", {}, head), J.el("tbody", {}, ...rows));
  };
  const renderFields = () => {
    const e = P.data.entities.find((x) => x.name === P.fieldEntity);
    if (!e) return fieldsBox.replaceChildren();
    const er = (P.role.entities[e.name] || {}).fields || {};
    const rows = e.fields.map((f) => {
      const cur = er[f.name];
      const access = cur && typeof cur === "object" ? "mask" : cur || "";
      const maskIn = J.el("input", { class: "mask-expr", value: cur && cur.mask ? cur.mask : "", "aria-label": `${f.zh || f.name} ${J.t("mask_expr")}`, placeholder: `ROUND_TO(${f.name}, 1000)`,
        oninput: (ev) => { rights(e.name).fields[f.name] = { mask: ev.target.value }; } });
      const sel = J.el("select", { id: `fr-${e.name}-${f.name}`, "aria-label": `${f.zh || f.name} ${J.t("field_rights")}`, onchange: (ev) => {
        const v = ev.target.value, fr = rights(e.name).fields;
        if (!v) delete fr[f.name];
        else fr[f.name] = v === "mask" ? { mask: maskIn.value || `${f.name}` } : v;
        maskIn.hidden = v !== "mask";
        preview();
      } }, J.el("option", { value: "", text: "—" }), ...["hidden", "read", "write", "mask"].map((k) => J.el("option", { value: k, text: J.t(k) })));
      sel.value = access;
      maskIn.hidden = access !== "mask";
      return J.el("tr", {}, J.el("th", { scope: "row" }, `${f.zh || f.name} `, J.el("code", { text: f.name })), J.el("td", {}, sel, maskIn));
    });
    fieldsBox.replaceChildren(J.el("table", { class: "grid" }, J.el("tbody", {}, ...rows)));
  };
  const preview = J.debounce(async () => {
    if (!P.role || !P.fieldEntity) return;
    viewBox.replaceChildren(J.el("p", { class: "hint", text: "…" }));
    try {
      await P.saveQuiet();
      const r = await J.api("GET", J.dUrl(`/view-as?role=${encodeURIComponent(P.role.name)}&entity=${encodeURIComponent(P.fieldEntity)}`));
      const rows = r.fields.map((f) => J.el("tr", { class: "acc-" + f.access },
        J.el("th", { scope: "row", text: f.zh || f.name }), J.el("td", { text: fmt(r.original[f.name]) }),
        J.el("td", { text: r.record && f.name in r.record ? fmt(r.record[f.name]) : "🚫 " + J.t("hidden") }), J.el("td", {}, J.el("span", { class: "tag", text: J.t(f.access) }))));
      viewBox.replaceChildren(r.sample ? J.el("p", { class: "hint", text: J.t("sample_note") }) : "",
        J.el("table", { class: "grid", id: "view-as-table" }, J.el("thead", {}, J.el("tr", {}, J.el("th", { text: J.t("fields") }), J.el("th", { text: J.t("original") }), J.el("th", { text: J.t("as_role") }), J.el("th", { text: J.t("field_rights") }))), J.el("tbody", {}, ...rows)));
    } catch (err) { J.fail(err); }
  }, 300);
  const fmt = (v) => (v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));

  const roleBody = () => ({ name: P.role.name, label: { zh: P.role.zh || P.role.name, en: P.role.en || "" }, entities: P.role.entities });
  P.saveQuiet = async () => { await J.api("PUT", J.metaUrl("/roles/" + P.role.name), roleBody()); };
  const selectRole = (name) => {
    const r = P.data.roles.find((x) => x.name === name);
    P.role = r ? JSON.parse(JSON.stringify(r)) : null;
    if (P.role) for (const e of Object.values(P.role.entities)) e.fields = e.fields || {};
    if (P.role) { renderMatrix(); renderFields(); preview(); } else { matrix.replaceChildren(); fieldsBox.replaceChildren(); viewBox.replaceChildren(); }
  };
  P.show = async () => {
    P.data = await J.api("GET", J.dUrl("/permissions"));
    roleSel.replaceChildren(...P.data.roles.map((r) => J.el("option", { value: r.name, text: `${r.zh || r.name} (${r.name})` })));
    if (P.role && P.data.roles.some((r) => r.name === P.role.name)) roleSel.value = P.role.name;
    J.fillEntitySelect(entSel, P.fieldEntity);
    P.fieldEntity = entSel.value;
    selectRole(roleSel.value);
  };
  roleSel.addEventListener("change", () => selectRole(roleSel.value));
  entSel.addEventListener("change", () => { P.fieldEntity = entSel.value; renderFields(); preview(); });
  document.getElementById("add-role").addEventListener("click", async () => {
    const label = document.getElementById("new-role-label").value.trim();
    if (!label) return;
    const r = await J.api("GET", "/api/designer/infer?label=" + encodeURIComponent(label));
    try {
      if (!J.meta.draft.roles.some((x) => x.name === "admin")) {
        // Once an app defines roles, admin becomes an explicit role with every right.
        const all = { create: true, read: true, update: true, delete: true, export: true, transitions: [], row_filter: null, fields: {} };
        await J.api("PUT", J.metaUrl("/roles/admin"), { name: "admin", label: { zh: "管理员", en: "Administrator" }, entities: {}, all_entities: all });
      }
      await J.api("PUT", J.metaUrl("/roles/" + r.name), { name: r.name, label: { zh: label, en: "" }, entities: {} });
      P.role = { name: r.name };
      await J.reload(); await P.show();
      roleSel.value = r.name; selectRole(r.name);
    } catch (err) { J.fail(err); }
  });
  document.getElementById("save-role").addEventListener("click", async () => {
    try { await P.saveQuiet(); J.toast(J.t("saved")); await J.reload(); await P.show(); } catch (err) { J.fail(err); }
  });
})();
