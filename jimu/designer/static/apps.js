/* The app list: create an app through POST /api/apps, then open its designer. */
"use strict";
(() => {
  const label = document.getElementById("new-app-label");
  const name = document.getElementById("new-app-name");
  let touched = false;
  name.addEventListener("input", () => (touched = true));
  const infer = async () => {
    if (touched || !label.value.trim()) return;
    const r = await J.api("GET", "/api/designer/infer?label=" + encodeURIComponent(label.value));
    name.value = r.name;
  };
  label.addEventListener("input", J.debounce(infer, 200));
  // A label typed before this script ran (a slow page) gets its name too.
  if (label.value.trim() && !name.value) infer();
  document.getElementById("create-app").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await J.api("POST", "/api/apps", { name: name.value, label: { zh: label.value, en: "" } });
      location.href = "/designer/" + name.value;
    } catch (err) {
      document.getElementById("create-error").textContent = err.message;
    }
  });
})();
