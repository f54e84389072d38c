// Pilot dashboard: live updates, forms through the API, charts.
// The hooks are described in README.md beside this file.
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var body = document.body;

  // ---------- helpers ----------
  function $all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }
  function fill(template, values) {
    return template.replace(/\{([A-Za-z0-9_.]+)\}/g, function (_, key) {
      var value = values[key];
      return value === undefined || value === null ? "" : encodeURIComponent(String(value));
    });
  }
  function placeholders(template) {
    var names = [];
    template.replace(/\{([A-Za-z0-9_.]+)\}/g, function (_, key) { names.push(key); return ""; });
    return names;
  }
  function errorMessage(answer, status) {
    if (answer && answer.error && answer.error.message) return answer.error.message;
    return "The server answered " + status + ".";
  }

  // ---------- regions ----------
  var regionTimer = null;
  function refreshRegions() {
    if (regionTimer) return;
    regionTimer = setTimeout(function () {
      regionTimer = null;
      fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (new URL(response.url).pathname === "/login") {
            location.href = response.url;
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html");
          $all("[data-region]").forEach(function (region) {
            var next = fresh.querySelector('[data-region="' + region.getAttribute("data-region") + '"]');
            if (next) region.innerHTML = next.innerHTML;
          });
          renderTimes();
        })
        .catch(function () {});
    }, 300);
  }

  // ---------- forms and buttons ----------
  function setPath(target, path, value) {
    var keys = path.split(".");
    var node = target;
    for (var i = 0; i < keys.length - 1; i++) {
      node[keys[i]] = node[keys[i]] || {};
      node = node[keys[i]];
    }
    node[keys[keys.length - 1]] = value;
  }
  function fieldValue(field) {
    if (field.type === "checkbox") return field.checked;
    var value = field.value;
    var type = field.getAttribute("data-type");
    if (type === "number") return value === "" ? undefined : Number(value);
    if (type === "list") {
      return value.split(",").map(function (v) { return v.trim(); }).filter(function (v) { return v; });
    }
    return value;
  }
  function formFields(form) {
    var values = {};
    $all("input[name], select[name], textarea[name]", form).forEach(function (field) {
      if (field.type === "file" || field.disabled) return;
      values[field.name] = { field: field, value: fieldValue(field) };
    });
    return values;
  }

  function clearErrors(form) {
    $all("[data-error-for]", form).forEach(function (el) { el.textContent = ""; });
    $all("[aria-invalid]", form).forEach(function (el) { el.removeAttribute("aria-invalid"); });
    var box = form.querySelector("[data-form-error]");
    if (box) { box.textContent = ""; box.hidden = true; }
  }
  function showError(form, answer, status) {
    var box = form.querySelector("[data-form-error]");
    var details = answer && answer.error && Array.isArray(answer.error.details) ? answer.error.details : [];
    var unplaced = [];
    details.forEach(function (problem) {
      var path = problem.path || "";
      var text = problem.message + (problem.hint ? " (" + problem.hint + ")" : "");
      var slot = form.querySelector('[data-error-for="' + CSS.escape(path) + '"]');
      var input = form.querySelector('[name="' + CSS.escape(path) + '"], [data-path="' + CSS.escape(path) + '"]');
      if (input) input.setAttribute("aria-invalid", "true");
      if (slot) slot.textContent = text; else unplaced.push((path ? path + ": " : "") + text);
    });
    if (box) {
      box.textContent = errorMessage(answer, status) + (unplaced.length ? " " + unplaced.join("; ") : "");
      box.hidden = false;
    }
  }

  function then(element, form, answer, values) {
    var next = element.getAttribute("data-then") || (form && form.getAttribute("data-then")) || "regions";
    if (next.indexOf("redirect:") === 0) {
      var plain = {};
      Object.keys(values).forEach(function (k) { plain[k] = values[k].value; });
      if (answer && typeof answer === "object") {
        Object.keys(answer).forEach(function (k) { if (plain[k] === undefined) plain[k] = answer[k]; });
      }
      location.href = fill(next.slice("redirect:".length), plain);
      return;
    }
    if (next === "login") { location.href = "/login"; return; }
    if (next === "reveal" && form) {
      var reveal = form.querySelector("[data-reveal]");
      if (reveal && answer) {
        $all("[data-value]", reveal).forEach(function (el) {
          var value = answer[el.getAttribute("data-value")];
          // data-origin-path="path": with no value, this page's origin and
          // that field (a URL the server could not know, seen from here).
          var path = el.getAttribute("data-origin-path");
          if ((value === undefined || value === null) && path && answer[path]) value = location.origin + answer[path];
          el.textContent = value === undefined || value === null ? "" : String(value);
        });
        reveal.hidden = false;
      }
    }
    if (form) {
      $all("input[name], textarea[name]", form).forEach(function (field) {
        if (field.type === "hidden" || field.hasAttribute("data-keep")) return;
        if (field.type === "checkbox") field.checked = false; else field.value = "";
      });
    }
    refreshRegions();
  }

  function send(element, form) {
    var question = element.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    var method = (element.getAttribute("data-method") || "POST").toUpperCase();
    var values = form ? formFields(form) : {};
    var used = placeholders(element.getAttribute("data-api"));
    var plain = {};
    Object.keys(values).forEach(function (k) { plain[k] = values[k].value; });
    var url = fill(element.getAttribute("data-api"), plain);
    var encode = element.getAttribute("data-encode") || "json";
    var button = form ? form.querySelector('[type="submit"]') : element;
    if (form) clearErrors(form);
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
    function done() {
      if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
    }
    function answered(status, text) {
      done();
      var answer = null;
      try { answer = text ? JSON.parse(text) : null; } catch (e) { answer = null; }
      if (status >= 200 && status < 300) then(element, form, answer, values);
      else if (status === 401) location.href = "/login?next=" + encodeURIComponent(location.pathname);
      else if (form) showError(form, answer, status);
      else window.alert(errorMessage(answer, status));
    }

    if (encode === "file" && form) {
      var file = form.querySelector('input[type="file"]');
      var query = new URLSearchParams();
      Object.keys(values).forEach(function (k) {
        if (used.indexOf(k) >= 0) return;
        var v = values[k].value;
        if (v !== "" && v !== undefined) query.append(k, Array.isArray(v) ? v.join(",") : String(v));
      });
      var xhr = new XMLHttpRequest();
      var progress = form.querySelector("[data-progress]");
      xhr.open(method, url + (query.toString() ? (url.indexOf("?") >= 0 ? "&" : "?") + query : ""));
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      if (progress) {
        progress.hidden = false;
        xhr.upload.onprogress = function (e) {
          if (e.lengthComputable) {
            progress.value = Math.round((e.loaded / e.total) * 100);
            progress.textContent = progress.value + " %";
          }
        };
      }
      xhr.onload = function () { if (progress) progress.hidden = true; answered(xhr.status, xhr.responseText); };
      xhr.onerror = function () { done(); showError(form, null, "no answer"); };
      xhr.send(file && file.files[0] ? file.files[0] : null);
      return;
    }

    var init = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (method !== "GET" && method !== "DELETE") {
      var payload = {};
      var fixed = element.getAttribute("data-body");
      if (fixed) payload = JSON.parse(fixed);
      Object.keys(values).forEach(function (k) {
        var entry = values[k];
        if (used.indexOf(k) >= 0 || entry.field.type === "hidden" && k === "csrf") return;
        if ((entry.value === "" || entry.value === undefined) && !entry.field.required) return;
        setPath(payload, k, entry.value);
      });
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    fetch(url, init)
      .then(function (response) {
        return response.text().then(function (text) { answered(response.status, text); });
      })
      .catch(function () {
        done();
        if (form) showError(form, null, "no answer (is the server running?)");
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-api")) return;
    event.preventDefault();
    send(form, form);
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-api]") : null;
    if (!button || button.form && button.form.hasAttribute("data-api")) return;
    event.preventDefault();
    send(button, null);
  });

  // ---------- relative times ----------
  function ago(date) {
    var seconds = Math.round((Date.now() - date.getTime()) / 1000);
    var future = seconds < 0;
    seconds = Math.abs(seconds);
    var text;
    if (seconds < 45) text = "seconds";
    else if (seconds < 3600) text = Math.round(seconds / 60) + " min";
    else if (seconds < 172800) text = Math.round(seconds / 3600) + " h";
    else text = Math.round(seconds / 86400) + " d";
    return future ? "in " + text : text + " ago";
  }
  function renderTimes() {
    $all("time[data-relative]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date.getTime())) {
        el.title = date.toUTCString();
        el.textContent = ago(date);
      }
    });
  }
  renderTimes();
  setInterval(renderTimes, 30000);

  // ---------- charts ----------
  var RANGES = { "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800, "30d": 2592000 };
  var range = "1h";
  var charts = [];

  function formatValue(unit, v) {
    if (v === null || v === undefined) return "-";
    if (unit === "percent") return v.toFixed(1) + " %";
    if (unit === "bytes" || unit === "bytes_per_second") {
      var units = ["B", "KiB", "MiB", "GiB", "TiB"];
      var i = 0;
      while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return (i ? v.toFixed(1) : v.toFixed(0)) + " " + units[i] + (unit === "bytes_per_second" ? "/s" : "");
    }
    return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
  }
  function labelsMatch(want, have) {
    return Object.keys(want).every(function (k) { return have && have[k] === want[k]; });
  }
  function seriesKey(node, labels) {
    return node + "|" + JSON.stringify(labels || {});
  }

  function Chart(figure) {
    this.figure = figure;
    this.metric = figure.getAttribute("data-metric");
    this.node = figure.getAttribute("data-node") || "";
    this.labels = JSON.parse(figure.getAttribute("data-labels") || "{}");
    this.unit = figure.getAttribute("data-unit") || "number";
    this.spark = figure.hasAttribute("data-sparkline");
    this.series = [];
    this.plot = null;
  }
  Chart.prototype.span = function () { return this.spark ? "1h" : range; };
  // Shows the series of `answer` that are this chart's (its node's, when it
  // names one).
  Chart.prototype.accept = function (answer, started) {
    var chart = this;
    chart.series = answer.series.filter(function (s) {
      return !chart.node || s.node === chart.node;
    }).map(function (s) {
      return {
        key: seriesKey(s.node, s.labels), node: s.node, labels: s.labels,
        points: s.points.map(function (p) { return [p.timestamp_ms / 1000, p.value]; })
      };
    });
    chart.draw(started);
  };
  // Loads `list`: one query per metric, labels and range, so a page of a
  // hundred nodes' sparklines makes three requests, not three hundred.
  function loadCharts(list) {
    var groups = {};
    list.forEach(function (c) {
      var key = [c.metric, JSON.stringify(c.labels), c.span()].join(" ");
      (groups[key] = groups[key] || []).push(c);
    });
    Object.keys(groups).forEach(function (key) {
      var members = groups[key];
      var first = members[0];
      var started = performance.now();
      var query = new URLSearchParams({ metric: first.metric, start: "-" + first.span() });
      var oneNode = members.every(function (c) { return c.node && c.node === first.node; });
      if (oneNode) query.set("node", first.node);
      Object.keys(first.labels).forEach(function (k) { query.set("label." + k, first.labels[k]); });
      fetch("/api/v1/metrics/query?" + query, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) {
          if (answer) members.forEach(function (c) { c.accept(answer, started); });
        })
        .catch(function () {});
    });
  }
  Chart.prototype.name = function (s) {
    var differing = [];
    var all = this.series;
    if (all.length > 1 && all.some(function (o) { return o.node !== s.node; })) differing.push(s.node);
    Object.keys(s.labels || {}).forEach(function (k) {
      if (all.some(function (o) { return (o.labels || {})[k] !== s.labels[k]; })) differing.push(s.labels[k]);
    });
    return differing.join(" ") || this.figure.getAttribute("data-title") || this.metric;
  };
  Chart.prototype.draw = function (started) {
    var chart = this;
    if (!window.uPlot) return;
    var times = {};
    chart.series.forEach(function (s) { s.points.forEach(function (p) { times[p[0]] = true; }); });
    var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var data = [xs].concat(chart.series.map(function (s) {
      var at = {};
      s.points.forEach(function (p) { at[p[0]] = p[1]; });
      return xs.map(function (x) { return at[x] === undefined ? null : at[x]; });
    }));
    // The y axis as wide as its longest label (uPlot's axis-autosize).
    function axisSize(u, values, axisIdx, cycleNum) {
      var axis = u.axes[axisIdx];
      if (cycleNum > 1) return axis._size;
      var longest = (values || []).reduce(function (a, v) { return v.length > a.length ? v : a; }, "");
      var size = axis.ticks.size + axis.gap + 4;
      if (longest) {
        u.ctx.font = axis.font[0];
        size += u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
      }
      return Math.ceil(size);
    }
    var palette = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2"];
    var width = Math.max(chart.figure.clientWidth, 120);
    var opts = {
      width: width,
      height: chart.spark ? 36 : 180,
      legend: { show: !chart.spark },
      cursor: { show: !chart.spark },
      scales: { x: { time: true } },
      axes: chart.spark ? [{ show: false }, { show: false }] : [
        {},
        { values: function (u, vals) { return vals.map(function (v) { return formatValue(chart.unit, v); }); }, size: axisSize }
      ],
      series: [{}].concat(chart.series.map(function (s, i) {
        return {
          label: chart.name(s), stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
          points: { show: !chart.spark && s.points.length < 60 },
          value: function (u, v) { return formatValue(chart.unit, v); }
        };
      }))
    };
    if (chart.plot) chart.plot.destroy();
    var holder = chart.figure.querySelector(".plot");
    if (!holder) {
      holder = document.createElement("div");
      holder.className = "plot";
      chart.figure.appendChild(holder);
    }
    chart.plot = new window.uPlot(opts, data, holder);
    var count = chart.series.reduce(function (n, s) { return n + s.points.length; }, 0);
    chart.figure.setAttribute("data-points", String(count));
    if (started) chart.figure.setAttribute("data-drawn-ms", String(Math.round(performance.now() - started)));
  };
  Chart.prototype.take = function (node, samples) {
    var chart = this;
    if (chart.node && chart.node !== node) return;
    var changed = false;
    var horizon = Date.now() / 1000 - RANGES[chart.spark ? "1h" : range];
    samples.forEach(function (sample) {
      if (sample.name !== chart.metric || !labelsMatch(chart.labels, sample.labels)) return;
      var key = seriesKey(node, sample.labels);
      var series = chart.series.filter(function (s) { return s.key === key; })[0];
      if (!series) {
        series = { key: key, node: node, labels: sample.labels, points: [] };
        chart.series.push(series);
      }
      series.points.push([sample.timestamp_ms / 1000, sample.value]);
      series.points = series.points.filter(function (p) { return p[0] >= horizon; });
      changed = true;
    });
    if (changed) chart.draw(null);
  };

  function startCharts() {
    charts = $all("figure[data-chart]").map(function (figure) { return new Chart(figure); });
    loadCharts(charts);
    if (window.ResizeObserver) {
      var observer = new ResizeObserver(function (entries) {
        entries.forEach(function (entry) {
          var chart = charts.filter(function (c) { return c.figure === entry.target; })[0];
          if (chart && chart.plot) chart.plot.setSize({ width: Math.max(entry.contentRect.width, 120), height: chart.spark ? 36 : 180 });
        });
      });
      charts.forEach(function (c) { observer.observe(c.figure); });
    }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-range]") : null;
    if (!button) return;
    range = button.getAttribute("data-range");
    $all("button[data-range]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-range") === range));
    });
    loadCharts(charts.filter(function (c) { return !c.spark; }));
  });

  // ---------- deploy progress ----------
  function progressFor(project) {
    return $all("section[data-deploy-progress]").filter(function (s) {
      return s.getAttribute("data-project") === project;
    })[0];
  }
  function onDeploy(message) {
    var section = progressFor(message.project);
    if (!section) return;
    var event = message.event || {};
    var steps = section.querySelector("[data-steps]");
    var log = section.querySelector("[data-build-log]");
    var state = section.querySelector("[data-deploy-state]");
    if (event.step && steps) {
      var id = message.node + ":" + event.step;
      var item = $all("li[data-step]", steps).filter(function (li) { return li.getAttribute("data-step") === id; })[0];
      if (!item) {
        item = document.createElement("li");
        item.setAttribute("data-step", id);
        steps.appendChild(item);
      }
      var label = message.node + " · " + event.step.replace(/_/g, " ");
      if (event.event === "step_started") { item.setAttribute("data-state", "running"); item.textContent = label + " — running"; }
      if (event.event === "step_finished") { item.setAttribute("data-state", "done"); item.textContent = label + " — " + (event.duration_ms / 1000).toFixed(1) + " s"; }
      if (event.event === "step_failed") { item.setAttribute("data-state", "failed"); item.textContent = label + " — failed: " + event.error; }
      if (event.event === "step_reverted") {
        // The step that failed stays marked failed once it is undone.
        if (item.getAttribute("data-state") === "failed") item.textContent += " (undone)";
        else { item.setAttribute("data-state", "reverted"); item.textContent = label + " — undone"; }
      }
    }
    if (event.event === "step_started" && event.step === "fetch" && state) {
      state.textContent = "Deploying on " + message.node + "…";
    }
    if (event.event === "log" && log) {
      log.appendChild(document.createTextNode(message.node + " | " + event.line + "\n"));
      while (log.childNodes.length > 5000) log.removeChild(log.firstChild);
      log.scrollTop = log.scrollHeight;
    }
    if (event.event === "switched" && state) state.textContent = "Traffic moved to generation " + event.generation + ".";
    if (event.event === "finished") {
      if (state) state.textContent = "Finished on " + message.node + ": " + String(event.state).replace(/_/g, " ") + (event.reason ? " — " + event.reason : "");
      refreshRegions();
    }
  }

  // ---------- live events ----------
  var status = document.querySelector("[data-ws-status]");
  var delay = 1000;
  function connect() {
    var topics = (body.getAttribute("data-topics") || "").split(",").filter(function (t) { return t; });
    if (!topics.length || !status) return;
    var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws");
    socket.onopen = function () {
      delay = 1000;
      var subscription = { topics: topics };
      if (body.getAttribute("data-project")) subscription.project = body.getAttribute("data-project");
      if (body.getAttribute("data-node")) subscription.node = body.getAttribute("data-node");
      socket.send(JSON.stringify(subscription));
      status.textContent = "live";
      status.className = "ws-status live";
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (data.type === "metrics") charts.forEach(function (c) { c.take(data.node, data.samples); });
      else if (data.type === "node_status" || data.type === "rollout_finished") refreshRegions();
      else if (data.type === "deploy") onDeploy(data);
    };
    socket.onclose = function (event) {
      status.textContent = "reconnecting";
      status.className = "ws-status down";
      if (event.code === 1008) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  // ---------- logs ----------
  function startLogs(section) {
    var project = section.getAttribute("data-project");
    var out = section.querySelector("[data-log-lines]");
    var filter = section.querySelector("[data-log-filter]");
    var download = section.querySelector("[data-log-download]");
    var lines = [];
    var wait = 1000;
    function shown() {
      var needle = filter ? filter.value : "";
      return lines.filter(function (l) { return !needle || l.indexOf(needle) >= 0; });
    }
    function render() {
      out.textContent = shown().join("\n");
      out.scrollTop = out.scrollHeight;
    }
    function open() {
      var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host +
        "/api/v1/projects/" + encodeURIComponent(project) + "/logs/ws?lines=200");
      socket.onopen = function () { wait = 1000; lines = []; };
      socket.onmessage = function (message) {
        var batch;
        try { batch = JSON.parse(message.data); } catch (e) { return; }
        (batch.lines || []).forEach(function (line) { lines.push(batch.node + " | " + line); });
        if (batch.error) lines.push(batch.node + " | (" + batch.error + ")");
        if (lines.length > 5000) lines = lines.slice(lines.length - 5000);
        render();
      };
      socket.onclose = function (event) {
        if (event.code === 1000) return;
        setTimeout(open, wait);
        wait = Math.min(wait * 2, 30000);
      };
    }
    if (filter) filter.addEventListener("input", render);
    if (download) {
      download.addEventListener("click", function () {
        var blob = new Blob([shown().join("\n") + "\n"], { type: "text/plain" });
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = project + "-logs.txt";
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
      });
    }
    open();
  }

  function start() {
    startCharts();
    connect();
    $all("section[data-logs]").forEach(startLogs);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
