/* The expression editor: autocomplete of fields (name or Chinese label), variables and
   functions (with docs), errors as you type with their position, optional live preview. */
"use strict";
(() => {
  const cache = {};
  J.completions = async (entity) => {
    const key = entity || "";
    if (!cache[key]) cache[key] = J.api("GET", J.dUrl("/completions?entity=" + encodeURIComponent(key)));
    return cache[key];
  };
  J.resetCompletions = () => { for (const k of Object.keys(cache)) delete cache[k]; };
  J.listeners.push(() => J.resetCompletions());

  const WORD = /[\w\u4e00-\u9fff.$]+$/;

  J.exprBox = (opts) => {
    const id = opts.id || J.uid("expr");
    const input = J.el(opts.multiline ? "textarea" : "input", {
      id, class: "expr", spellcheck: "false", autocomplete: "off", rows: opts.multiline ? 3 : undefined,
      role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": id + "-list",
      placeholder: opts.placeholder || "",
    });
    input.value = opts.value || "";
    const list = J.el("ul", { id: id + "-list", class: "ac", role: "listbox", hidden: true });
    const status = J.el("div", { class: "expr-status", "aria-live": "polite", id: id + "-status" });
    input.setAttribute("aria-describedby", status.id);
    const wrap = J.el("div", { class: "exprbox" }, J.el("label", { for: id, text: opts.label }),
      J.el("div", { class: "ac-wrap" }, input, list), status);
    let items = [], active = -1, lastResult = null;

    const showStatus = (res) => {
      lastResult = res;
      status.replaceChildren();
      input.classList.toggle("invalid", !res.ok);
      if (!input.value.trim()) return;
      if (res.ok) {
        status.append(J.el("span", { class: "ok", text: "✓ " + J.t("ok") + (res.type ? " · " + J.t("result_type") + ": " + res.type : "") }));
        return;
      }
      const e = res.error;
      const where = e.position !== null && e.position !== undefined ? " (" + J.t("error_at", { p: e.position + 1 }) + ")" : "";
      status.append(J.el("span", { class: "err", role: "alert", text: "✗ " + e.message + where }));
      if (e.hint) status.append(J.el("span", { class: "hint", text: " " + e.hint }));
      if (e.position !== null && e.position !== undefined) {
        const src = input.value, p = Math.min(e.position, src.length);
        status.append(J.el("pre", { class: "marker" }, src.slice(0, p),
          J.el("mark", { text: src.slice(p, p + 1) || " " }), src.slice(p + 1)));
      }
    };
    const entity = () => (typeof opts.entity === "function" ? opts.entity() : opts.entity);
    const run = J.debounce(async () => {
      const body = { entity: entity(), source: input.value, purpose: opts.purpose || "formula" };
      if (opts.extraNames) body.extra_names = opts.extraNames();
      try {
        const res = await J.api("POST", J.dUrl(opts.preview ? "/preview" : "/check"), body);
        showStatus(res);
        if (opts.onResult) opts.onResult(res);
      } catch (err) { J.fail(err); }
    }, opts.delay || 250);

    const close = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; };
    const choose = (i) => {
      const it = items[i];
      if (!it) return;
      const pos = input.selectionStart, before = input.value.slice(0, pos), after = input.value.slice(pos);
      const m = before.match(WORD);
      const start = m ? pos - m[0].length : pos;
      input.value = before.slice(0, start) + it.insert + after;
      const caret = start + it.insert.length;
      input.setSelectionRange(caret, caret);
      close();
      input.dispatchEvent(new Event("input"));
      input.focus();
    };
    const highlight = (i) => {
      active = i;
      [...list.children].forEach((li, j) => li.setAttribute("aria-selected", j === i ? "true" : "false"));
      if (list.children[i]) input.setAttribute("aria-activedescendant", list.children[i].id);
    };
    const suggest = async () => {
      const before = input.value.slice(0, input.selectionStart);
      const m = before.match(WORD);
      if (!m) return close();
      const word = m[0].toLowerCase();
      const c = await J.completions(entity());
      const out = [];
      for (const f of c.fields) {
        if (f.name.toLowerCase().startsWith(word) || (f.zh && f.zh.toLowerCase().includes(word)) || (f.en && f.en.toLowerCase().startsWith(word)))
          out.push({ insert: f.name, main: f.name, sub: `${f.zh || ""} · ${f.type}`, kind: "field" });
      }
      for (const v of c.variables) if (v.name.startsWith(word)) out.push({ insert: v.name, main: v.name, sub: J.lang === "en" ? v.en : v.zh, kind: "var" });
      for (const fn of c.functions) if (fn.name.toLowerCase().startsWith(word)) out.push({ insert: fn.name + "(", main: fn.signature, sub: fn.doc, kind: "fn" });
      items = out.slice(0, 12);
      if (!items.length) return close();
      list.replaceChildren(...items.map((it, i) => J.el("li", {
        id: `${id}-opt-${i}`, role: "option", class: "ac-" + it.kind, onmousedown: (ev) => { ev.preventDefault(); choose(i); },
      }, J.el("b", { text: it.main }), J.el("small", { text: it.sub }))));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(0);
    };
    input.addEventListener("input", () => {
      if (opts.onChange) opts.onChange(input.value);
      run();
      suggest();
    });
    input.addEventListener("keydown", (ev) => {
      if (list.hidden) return;
      if (ev.key === "ArrowDown") { ev.preventDefault(); highlight(Math.min(active + 1, items.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter" || ev.key === "Tab") { if (active >= 0) { ev.preventDefault(); choose(active); } }
      else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
    if (input.value) run();
    return {
      node: wrap, input,
      get value() { return input.value.trim() || null; },
      set value(v) { input.value = v || ""; run(); },
      get result() { return lastResult; },
      check: run,
    };
  };
})();
