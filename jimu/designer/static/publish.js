/* Publish dialog (dry-run diff, rows affected, health findings; blocked on Critical),
   history with rollback, and the change log. */
"use strict";
(() => {
  const dlg = document.getElementById("publish-dialog"), bodyBox = document.getElementById("publish-body");
  const confirmBtn = document.getElementById("publish-confirm");
  const sect = (title, items) => items.length ? J.el("section", {}, J.el("h3", { text: `${title} (${items.length})` }), J.el("ul", {}, ...items)) : "";
  const open = async () => {
    bodyBox.replaceChildren(J.el("p", { text: "…" }));
    confirmBtn.disabled = true;
    if (!dlg.open) dlg.showModal();
    try {
      const d = await J.api("GET", J.dUrl("/publish-preview"));
      const txt = (c) => (J.lang === "en" ? c.en : c.zh);
      const health = d.health ? J.el("p", { class: "health" }, J.t("health") + " · " + J.t("score") + ": ", J.el("b", { text: String(d.health.score) }),
        " ", ...Object.entries(d.health.counts || {}).map(([k, v]) => J.el("span", { class: "tag sev-" + k, text: `${k} ${v}` }))) : "";
      bodyBox.replaceChildren(
        J.el("p", {}, `v${d.version} → `, J.el("b", { text: "v" + d.next_version })),
        d.blocked ? J.el("p", { class: "error", role: "alert", id: "publish-blocked", text: J.t("blocked") }) : "",
        d.empty ? J.el("p", { class: "hint", text: J.t("nothing") }) : "",
        sect(J.t("changes_added"), d.changes.added.map((c) => J.el("li", { class: "add", text: txt(c) }))),
        sect(J.t("changes_changed"), d.changes.changed.map((c) => J.el("li", { class: "chg", text: txt(c) }))),
        sect(J.t("changes_archived"), d.changes.archived.map((c) => J.el("li", { class: "arc", text: txt(c) }))),
        sect(J.t("columns_ops"), d.columns.map((c) => J.el("li", { text: (J.lang === "en" ? c.en : c.zh) || `${c.action} ${c.entity}.${c.field || ""}` }))),
        sect(J.t("rows_affected"), d.rows_affected.map((p) => J.el("li", { text: `${p.entity}.${p.field}: ${p.old_type} → ${p.new_type} · ${p.rows} / ✗ ${p.failing}` }))),
        health,
        sect(J.t("findings"), d.findings.map((f) => J.el("li", { class: "sev-" + f.severity }, J.el("span", { class: "tag sev", text: f.severity }), J.el("code", { text: f.id }), " " + f.message))));
      confirmBtn.disabled = d.blocked;
    } catch (err) { J.fail(err); }
  };
  const publish = async () => {
    confirmBtn.disabled = true;
    try {
      const r = await J.api("POST", `/api/apps/${J.app.name}/publish`);
      dlg.close();
      J.toast(J.t("published_ok", { v: r.version }));
      await J.reload();
      await history();
    } catch (err) { J.fail(err); confirmBtn.disabled = false; }
  };
  const history = async () => {
    const v = await J.api("GET", J.metaUrl("/versions"));
    document.getElementById("versions").replaceChildren(
      J.el("thead", {}, J.el("tr", {}, ...["version", "at", "by", "changelog", ""].map((k) => J.el("th", { text: k ? J.t(k) : "" })))),
      J.el("tbody", {}, ...v.data.map((row) => J.el("tr", {}, J.el("td", { text: "v" + row.version }), J.el("td", { text: row.published_at.slice(0, 19).replace("T", " ") }),
        J.el("td", { text: row.published_by || "" }), J.el("td", { text: ((row.summary || {})[J.lang === "en" ? "en" : "zh"] || []).slice(0, 3).join("；") }),
        J.el("td", {}, row.version === J.meta.published_version ? "" : J.el("button", { type: "button", class: "btn small", text: J.t("rollback"), onclick: async () => {
          if (!confirm(J.t("confirm_rollback", { v: row.version }))) return;
          try { await J.api("POST", `/api/apps/${J.app.name}/rollback`, { version: row.version }); await J.reload(); await history(); } catch (err) { J.fail(err); }
        } }))))));
    const c = await J.api("GET", J.metaUrl("/changes"));
    document.getElementById("changelog").replaceChildren(...c.data.slice(0, 60).map((ch) => J.el("li", {},
      J.el("small", { text: `${ch.at.slice(0, 19).replace("T", " ")} · ${ch.author || ""} · r${ch.revision}` }), J.el("div", { text: J.lang === "en" ? ch.summary_en : ch.summary_zh }))));
  };
  J.publishPanel = { open, history, show: history };
  document.getElementById("open-publish").addEventListener("click", open);
  document.getElementById("publish-cancel").addEventListener("click", () => dlg.close());
  confirmBtn.addEventListener("click", publish);
})();
