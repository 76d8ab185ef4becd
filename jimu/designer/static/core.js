/* Jimu designer: shared helpers (API calls with the CSRF header, i18n, DOM builder). */
"use strict";
const J = (window.J = window.J || {});
/* The page's data blocks (<script type="application/json">, never executed: the
   Content-Security-Policy allows no inline script). */
J.data = (id, fallback) => {
  const el = document.getElementById(id);
  if (!el) return fallback;
  try { return JSON.parse(el.textContent); } catch (e) { return fallback; }
};
window.JIMU_I18N = J.data("jimu-i18n", {});
window.JIMU_LANG = J.data("jimu-lang", "zh");
window.JIMU_APP = J.data("jimu-app", null);
J.lang = window.JIMU_LANG || "zh";
J.t = (key, vars) => {
  let s = (window.JIMU_I18N || {})[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
  return s;
};
J.label = (lbl, fallback) => {
  if (!lbl) return fallback || "";
  if (typeof lbl === "string") return lbl;
  return (J.lang === "en" ? lbl.en || lbl.zh : lbl.zh || lbl.en) || fallback || "";
};
J.api = async (method, url, body) => {
  const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = J.data("jimu-csrf", "");
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(url, opts);
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const err = new Error((data && (data.detail || data.title)) || r.statusText);
    err.status = r.status;
    err.data = data;
    throw err;
  }
  return data;
};
J.metaUrl = (path) => `/api/apps/${J.app.name}/meta${path || ""}`;
J.dUrl = (path) => `/api/apps/${J.app.name}/designer${path}`;
J.el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "html") node.innerHTML = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
};
let uid = 0;
J.uid = (p) => `${p || "id"}-${++uid}`;
/* A labelled input row: returns [wrapper, input]. */
J.field = (labelText, input) => {
  if (!input.id) input.id = J.uid("f");
  const wrap = J.el("div", { class: input.type === "checkbox" ? "fld check" : "fld" });
  const lab = J.el("label", { for: input.id, text: labelText });
  if (input.type === "checkbox") wrap.append(input, lab);
  else wrap.append(lab, input);
  return wrap;
};
J.toast = (msg, bad) => {
  const t = document.getElementById("toast");
  if (!t) return;
  t.textContent = msg;
  t.className = bad ? "show bad" : "show";
  clearTimeout(J._toastTimer);
  J._toastTimer = setTimeout(() => (t.className = ""), bad ? 6000 : 2500);
};
J.fail = (err) => {
  const errors = (err.data && err.data.errors) || [];
  const extra = errors.slice(0, 3).map((e) => e.message).join("; ");
  J.toast(J.t("error") + ": " + err.message + (extra ? " — " + extra : ""), true);
  console.warn(err);
};
J.debounce = (fn, ms) => {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
};
/* The draft, reloaded after each edit; listeners re-render. */
J.meta = null;
J.listeners = [];
J.reload = async () => {
  J.meta = await J.api("GET", J.metaUrl());
  const rev = document.getElementById("draft-rev");
  if (rev) rev.textContent = J.meta.draft_revision;
  const pv = document.getElementById("pub-v");
  if (pv) pv.textContent = J.meta.published_version;
  for (const fn of J.listeners) fn(J.meta);
  return J.meta;
};
J.entities = () => (J.meta ? J.meta.draft.entities.filter((e) => !e.archived) : []);
J.entity = (name) => J.entities().find((e) => e.name === name);
J.fillEntitySelect = (sel, keep) => {
  const cur = keep || sel.value;
  sel.replaceChildren(...J.entities().map((e) => J.el("option", { value: e.name, text: `${J.label(e.label, e.name)} (${e.name})` })));
  if (cur && J.entity(cur)) sel.value = cur;
};
