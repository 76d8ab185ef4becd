/* Jimu screens: small behaviours on top of htmx, Alpine.js, SortableJS and ECharts.
   No build step; plain ES2017. */
(function () {
  "use strict";
  var body = function () { return document.body; };
  var csrf = function () { return (body() && body().dataset.csrf) || ""; };

  function toast(text, kind) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.className = "show " + (kind || "");
    clearTimeout(toast._t);
    toast._t = setTimeout(function () { el.className = ""; }, 4000);
  }
  window.jimuToast = toast;

  /* JSON from a data-* attribute (rendered with the attr_json filter), or fallback. */
  function dataJson(text, fallback) {
    if (!text) return fallback;
    try { return JSON.parse(text); } catch (e) { return fallback; }
  }

  /* Alpine's CSP build (no eval): components are registered here and read their initial
     state from data-* attributes, never from code written into the page. */
  document.addEventListener("alpine:init", function () {
    /* Filter builder rows: [field, op, value] (data-rows, data-default-field, data-remove-label). */
    window.Alpine.data("jimuFilter", function () {
      return {
        rows: [], removeLabel: "", defaultField: "",
        init: function () {
          var d = this.$el.dataset;
          this.removeLabel = d.removeLabel || "";
          this.defaultField = d.defaultField || "";
          this.rows = dataJson(d.rows, []).map(function (r) { return [String(r[0]), String(r[1]), String(r[2])]; });
        },
        addRow: function () { this.rows.push([this.defaultField, "eq", ""]); }
      };
    });

    /* A form: tabs and live visibility rules (evaluated by the server, never in JS);
       data-tab (the first tab), data-rules ("true" when the form has rules), data-url. */
    window.Alpine.data("jimuForm", function () {
      return {
        tab: "", visible: {}, rules: false, url: "", _timer: null, _form: null,
        init: function () {
          var d = this.$el.dataset;
          this._form = this.$el;
          this.tab = d.tab || "";
          this.rules = d.rules === "true";
          this.url = d.url || "";
          if (this.rules) this.checkRules();
        },
        checkRules: function () {
          if (!this.rules) return;
          var self = this;
          clearTimeout(this._timer);
          this._timer = setTimeout(function () {
            var data = new FormData(self._form);
            fetch(self.url, { method: "POST", body: data, headers: { "X-CSRF-Token": csrf() } })
              .then(function (r) { return r.ok ? r.json() : {}; })
              .then(function (v) { self.visible = v; });
          }, 150);
        }
      };
    });

    /* Child table rows with add/remove and the barcode scan field. */
    window.Alpine.data("jimuRows", function () {
      var seq = 0, cfg = { columns: [], rows: [] };
      function blank() {
        var cells = {};
        cfg.columns.forEach(function (c) { cells[c] = { value: "", display: "", error: null }; });
        return { key: "n" + (seq++), id: null, cells: cells };
      }
      return {
        rows: [], scanError: "",
        /* data-cfg: {field, app, columns, rows, scan} */
        init: function () {
          cfg = dataJson(this.$el.dataset.cfg, cfg);
          var rows = (cfg.rows || []).map(function (r) {
            var row = blank(); row.id = r.id;
            Object.keys(r.cells).forEach(function (c) { row.cells[c] = r.cells[c]; });
            return row;
          });
          this.rows = rows.length ? rows : [blank()];
        },
        cellName: function (i, column) { return cfg.field + "-" + i + "-" + column; },
        rowLabel: function (label, i) { return label + " " + (i + 1); },
        add: function () { this.rows.push(blank()); var self = this;
          this.$nextTick(function () { var sel = self.$el.querySelectorAll("tbody tr"); var last = sel[sel.length - 1];
            var first = last && last.querySelector("select, input:not([type=hidden])"); if (first) first.focus(); }); },
        remove: function (i) { this.rows.splice(i, 1); },
        scan: function (ev) {
          var input = ev.target, code = input.value.trim(), self = this, sc = cfg.scan;
          if (!code || !sc) return;
          fetch("/app/" + cfg.app + "/_scan/" + sc.target + "?code=" + encodeURIComponent(code),
                { headers: { "Accept": "application/json" } })
            .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
            .then(function (res) {
              var ok = res[0], item = res[1];
              if (!ok) { self.scanError = item.error || code; return; }
              self.scanError = "";
              var id = String(item.id);
              var hit = self.rows.find(function (r) { return String(r.cells[sc.item].value) === id; });
              if (!hit) {
                hit = self.rows.find(function (r) { return !r.cells[sc.item].value; });
                if (!hit) { hit = blank(); self.rows.push(hit); }
                hit.cells[sc.item].value = id;
                hit.cells[sc.qty].value = "0";
                if (hit.cells.price && item.price != null && !hit.cells.price.value) hit.cells.price.value = String(item.price);
              }
              var q = parseFloat(hit.cells[sc.qty].value || "0") || 0;
              hit.cells[sc.qty].value = String(q + 1);
              self.$nextTick(function () {
                self.$el.querySelectorAll("select[data-col='" + sc.item + "']").forEach(function (sel) {
                  var name = sel.getAttribute("name") || "";
                  var idx = self.rows.indexOf(hit);
                  if (name.indexOf("-" + idx + "-") < 0) return;
                  if (!Array.prototype.some.call(sel.options, function (o) { return o.value === id; })) {
                    sel.add(new Option(item.title, id));
                  }
                  sel.value = id;
                });
              });
              input.value = "";
            });
        }
      };
    });
  });

  /* The session expired: say so (and link to the login page) instead of going quiet. */
  function sessionExpired() {
    var el = document.getElementById("session-expired");
    if (el) el.hidden = false;
    if (window.jimuLive) window.jimuLive.close();
  }
  window.jimuSessionExpired = sessionExpired;
  /* 401 on an htmx request (a live refresh, a filter...): the banner rather than a jump to the login page. */
  document.addEventListener("htmx:beforeOnLoad", function (ev) {
    if (ev.detail.xhr && ev.detail.xhr.status === 401) { ev.preventDefault(); sessionExpired(); }
  });

  /* Kanban: drag a card = fire the transition; refused moves snap back with the reason. */
  function initKanban(root) {
    if (!window.Sortable) return;
    root.querySelectorAll(".kcards").forEach(function (list) {
      window.Sortable.create(list, {
        group: "kanban", animation: 150, forceFallback: true, fallbackTolerance: 4,
        onStart: function () { root._busy = true; },
        onEnd: function (ev) {
          if (ev.from === ev.to) { settle(root); return; }
          var card = ev.item, to = ev.to.dataset.state;
          var url = "/app/" + root.dataset.app + "/" + root.dataset.entity + "/" + card.dataset.id + "/move";
          fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
                       body: JSON.stringify({ to: to }) })
            .then(function (r) { return r.json(); })
            .then(function (res) {
              if (res.ok) { toast("✓ " + (to || ""), "ok"); recount(root); return; }
              var ref = ev.from.children[ev.oldIndex] || null;
              ev.from.insertBefore(card, ref);
              recount(root);
              toast(res.reason || "refused", "error");
              card.dataset.refused = res.reason || "";
            })
            .catch(function () { ev.from.insertBefore(card, ev.from.children[ev.oldIndex] || null); })
            .then(function () { settle(root); });
        }
      });
    });
  }
  /* A drag or move is over: apply a live refresh that waited for it. */
  function settle(root) {
    root._busy = false;
    if (root._stale) refreshBoard(root);
  }
  /* Live: re-read the board from the server (cards rendered through the caller's rights,
     so masked fields stay masked) and swap the columns in place; waits while a card is
     being dragged or moved. */
  function refreshBoard(root) {
    if (root._busy) { root._stale = true; return; }
    root._stale = false;
    fetch(window.location.pathname + window.location.search, { headers: { "HX-Request": "true" } })
      .then(function (r) {
        if (r.status === 401) { sessionExpired(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html == null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-kanban]");
        if (!fresh) return;
        if (root._busy) { root._stale = true; return; }
        var focused = document.activeElement && document.activeElement.closest(".kcard");
        var focusId = focused ? focused.dataset.id : null;
        root.innerHTML = fresh.innerHTML;
        initKanban(root);
        if (focusId) {
          var again = root.querySelector(".kcard[data-id='" + focusId + "']");
          if (again) again.focus();
        }
      });
  }
  function recount(root) {
    root.querySelectorAll(".kcol").forEach(function (col) {
      var b = col.querySelector("h2 .badge"); if (b) b.textContent = col.querySelectorAll(".kcard").length;
    });
  }

  /* ECharts: every .chart carries its option as JSON. */
  function initCharts() {
    if (!window.echarts) return;
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      try { chart.setOption(JSON.parse(el.dataset.chart)); } catch (e) { /* bad option: leave empty */ }
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  /* Live updates: SSE from /api/apps/{app}/events; refresh the rows/record/board that changed.
     The stream authenticates with the session cookie, so it lasts as long as the session
     (no token in the page to expire first). It starts from the event id the page was
     rendered at (data-since) and every reconnect resumes from the last id received, so no
     event is lost in between. When the server refuses the stream, the page asks whether
     the session still holds: if it does, it opens the stream again (backing off); if not,
     it says the session expired. */
  function initLive() {
    var el = document.querySelector("[data-live]");
    var app = body().dataset.app;
    if (!el || !app || !window.EventSource) return;
    var last = el.dataset.since || "", delay = 1000, pending = null;
    function open() {
      var src = new EventSource("/api/apps/" + app + "/events" + (last ? "?last_event_id=" + encodeURIComponent(last) : ""));
      window.jimuLive = src;
      ["record.created", "record.updated", "record.deleted", "record.transitioned", "ledger.moved", "message"]
        .forEach(function (name) { src.addEventListener(name, onEvent); });
      src.onopen = function () { delay = 1000; };
      src.onerror = function () {
        if (src.readyState !== 2) return;  /* dropped: the browser reconnects by itself with Last-Event-ID */
        src.close();  /* refused (401 when the session expired, or a server error) */
        fetch("/app/" + app + "/_session", { headers: { "Accept": "application/json" }, cache: "no-store" })
          .then(function (r) { return r.status; }, function () { return 0; })
          .then(function (status) {
            if (status === 401) { sessionExpired(); return; }
            setTimeout(open, delay);
            delay = Math.min(delay * 2, 60000);
          });
      };
    }
    function onEvent(ev) {
      if (ev.lastEventId) last = ev.lastEventId;
      var data = {};
      try { data = JSON.parse(ev.data || "{}"); } catch (e) { return; }
      if (data.entity && data.entity !== el.dataset.entity) return;
      if (el.dataset.live === "board" && !data.entity) return;
      clearTimeout(pending);
      pending = setTimeout(function () {
        if (el.dataset.live === "board") {
          refreshBoard(el);
        } else if (el.dataset.live === "list" && window.htmx) {
          /* keep the rows ticked for a bulk action across the refresh */
          var ticked = Array.prototype.map.call(document.querySelectorAll("#rows input[name=ids]:checked"),
                                                function (b) { return b.value; });
          window.htmx.ajax("GET", el.dataset.rowsUrl, { target: "#rows", swap: "innerHTML" }).then(function () {
            ticked.forEach(function (v) {
              var box = document.querySelector("#rows input[name=ids][value='" + v + "']");
              if (box) box.checked = true;
            });
          });
        } else if (el.dataset.live === "detail" && String(data.id) === el.dataset.id) {
          toast(document.body.dataset.lang === "en" ? "Updated" : "数据已更新", "ok");
          if (ev.type === "record.deleted") return;  /* nothing left to show: keep the page, say so */
          if (!document.querySelector("dialog[open]") && window.htmx) {
            window.htmx.ajax("GET", window.location.pathname, { target: "#main", select: "#main", swap: "outerHTML" });
          }
        }
      }, 300);
    }
    open();
  }

  /* Behaviours that used to be inline handlers (the Content-Security-Policy allows no
     inline script): delegated, so they also work on content htmx swaps in. */
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form && form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) ev.preventDefault();
  }, true);
  document.addEventListener("click", function (ev) {
    var t = ev.target && ev.target.closest ? ev.target : null;
    if (!t) return;
    var all = t.closest("[data-check-all]");
    if (all) {
      document.querySelectorAll(all.dataset.checkAll).forEach(function (c) { c.checked = all.checked; });
      return;
    }
    var opener = t.closest("[data-open-dialog]");
    if (opener) {
      var dlg = document.getElementById(opener.dataset.openDialog);
      if (dlg && dlg.showModal) dlg.showModal();
      return;
    }
    var closer = t.closest("[data-close-dialog]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) open.close();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-open]").forEach(function (d) { if (d.showModal) d.showModal(); });
    document.querySelectorAll("[data-kanban]").forEach(initKanban);
    initCharts();
    initLive();
  });
  document.addEventListener("htmx:configRequest", function (ev) { ev.detail.headers["X-CSRF-Token"] = csrf(); });
})();
