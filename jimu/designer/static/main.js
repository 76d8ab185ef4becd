/* The designer shell: keyboard-usable tabs (arrow keys), first load of the draft. */
"use strict";
(async () => {
  J.app = window.JIMU_APP;
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const panels = { form: J.formPanel, workflow: J.workflowPanel, perms: J.permsPanel, formula: J.formulaPanel, publish: J.publishPanel };
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    const p = panels[tab.dataset.tab];
    if (p && p.show) Promise.resolve(p.show()).catch(J.fail);
    history.replaceState(null, "", "#" + tab.dataset.tab);
  };
  tabs.forEach((t, i) => {
    t.addEventListener("click", () => select(t));
    t.addEventListener("keydown", (ev) => {
      const d = ev.key === "ArrowRight" || ev.key === "ArrowDown" ? 1 : ev.key === "ArrowLeft" || ev.key === "ArrowUp" ? -1 : 0;
      if (d) { ev.preventDefault(); const n = tabs[(i + d + tabs.length) % tabs.length]; n.focus(); select(n); }
    });
  });
  try {
    await J.entitiesPanel.init();
    J.workflowPanel.init();
    await J.reload();
    const start = tabs.find((t) => "#" + t.dataset.tab === location.hash);
    if (start) select(start);
    document.body.dataset.ready = "1";
  } catch (err) { J.fail(err); }
})();
