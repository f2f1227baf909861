// Draws the charts of a memscope HTML report from the JSON embedded in the page, and
// makes its tables sortable. Every name is inserted with textContent, never as markup. When done, the body element carries
// data-rendered="ok"; any script error sets data-error (the browser test reads both).
(function () {
  'use strict';
  var body = document.body;
  window.onerror = function (msg, src, line, col) {
    body.setAttribute('data-error', String(msg) + ' at ' + line + ':' + col);
    body.setAttribute('data-rendered', 'error');
  };
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = {
    cpu: '#e4572e', io: '#17a2b8', network: '#4c6ef5', memory: '#f2b705',
    background: '#76b041', unspecified: '#98a2b3', untracked: '#344054'
  };
  var data = JSON.parse(document.getElementById('memscope-data').textContent);
  var tooltip = document.createElement('div');
  tooltip.className = 'tooltip';
  body.appendChild(tooltip);

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function label(parent, x, y, s, attrs) {
    var t = el('text', attrs || {}, parent);
    t.setAttribute('x', x);
    t.setAttribute('y', y);
    t.textContent = s;
    return t;
  }
  function human(b) {
    var units = ['KiB', 'MiB', 'GiB', 'TiB'];
    if (b < 1024) { return Math.round(b) + ' B'; }
    var v = b / 1024, u = 0;
    while (v >= 1023.95 && u + 1 < units.length) { v /= 1024; u++; }
    return v.toFixed(1) + ' ' + units[u];
  }
  function niceStep(max, count) {
    var raw = max / count, mag = Math.pow(2, Math.floor(Math.log2(raw)));
    var steps = [1, 1.25, 2, 2.5, 4, 5, 8];
    for (var i = 0; i < steps.length; i++) { if (mag * steps[i] >= raw) { return mag * steps[i]; } }
    return mag * 8;
  }
  function decimalStep(max, count) {
    var raw = max / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (mag * steps[i] >= raw) { return mag * steps[i]; } }
    return mag * 10;
  }
  function showTip(evt, text) {
    tooltip.textContent = text;
    tooltip.style.display = 'block';
    tooltip.style.left = (evt.clientX + 14) + 'px';
    tooltip.style.top = (evt.clientY + 14) + 'px';
  }
  function hideTip() { tooltip.style.display = 'none'; }
  function color(name) { return COLORS[name] || '#98a2b3'; }
  function width(container) { return Math.max(container.clientWidth || 0, 480); }

  function drawTimeline() {
    var box = document.getElementById('chart-timeline');
    box.textContent = '';
    var withUntracked = document.getElementById('show-untracked').checked;
    var samples = data.timeline, types = data.types;
    var W = width(box), H = 330, m = { l: 72, r: 16, t: 12, b: 34 };
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, height: H, 'data-chart': 'timeline',
      role: 'img', 'aria-label': 'live bytes over time per task type' }, box);
    var plot = el('g', { 'class': 'plot' }, svg);
    if (samples.length < 2) {
      label(plot, m.l, H / 2, samples.length === 0
        ? 'no timeline: the sampler did not run'
        : 'one sample only: the run was shorter than the sampling interval');
      return;
    }
    var t0 = samples[0].t, t1 = samples[samples.length - 1].t;
    var span = Math.max(t1 - t0, 1e-9);
    var tops = samples.map(function (s) {
      var sum = 0;
      types.forEach(function (ty) { sum += s.by[ty] || 0; });
      return withUntracked ? Math.max(sum, s.u) : sum;
    });
    var max = Math.max.apply(null, tops.concat([1]));
    var step = niceStep(max, 5);
    max = Math.ceil(max / step) * step;
    var x = function (t) { return m.l + (t - t0) / span * (W - m.l - m.r); };
    var y = function (v) { return H - m.b - v / max * (H - m.t - m.b); };
    var grid = el('g', { 'class': 'grid' }, svg);
    var axis = el('g', { 'class': 'axis' }, svg);
    svg.insertBefore(grid, plot);
    for (var v = 0; v <= max + step / 2; v += step) {
      el('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }, grid);
      label(axis, m.l - 6, y(v) + 4, human(v), { 'text-anchor': 'end' });
    }
    var tstep = decimalStep(span, 8);
    var dec = 0;
    while (dec < 6 && Math.abs(Math.round(tstep * Math.pow(10, dec)) - tstep * Math.pow(10, dec)) > 1e-6) { dec++; }
    for (var s = Math.ceil(t0 / tstep) * tstep - t0; s <= span + 1e-9; s += tstep) {
      label(axis, x(t0 + s), H - m.b + 16, (t0 + s).toFixed(dec) + ' s',
        { 'text-anchor': 'middle' });
    }
    el('line', { x1: m.l, x2: W - m.r, y1: y(0), y2: y(0) }, axis);
    var base = samples.map(function () { return 0; });
    types.forEach(function (ty) {
      var upper = samples.map(function (s, i) { return base[i] + (s.by[ty] || 0); });
      var d = 'M' + samples.map(function (s, i) { return x(s.t) + ',' + y(upper[i]); }).join('L');
      for (var i = samples.length - 1; i >= 0; i--) { d += 'L' + x(samples[i].t) + ',' + y(base[i]); }
      el('path', { d: d + 'Z', fill: color(ty), 'fill-opacity': 0.75, stroke: color(ty),
        'stroke-width': 1, 'data-series': ty }, plot);
      base = upper;
    });
    if (withUntracked) {
      el('path', { d: 'M' + samples.map(function (s) { return x(s.t) + ',' + y(s.u); }).join('L'),
        fill: 'none', stroke: COLORS.untracked, 'stroke-width': 1.5, 'stroke-dasharray': '5 3',
        'data-series': 'untracked' }, plot);
    }
    var cursor = el('line', { y1: m.t, y2: H - m.b, stroke: '#101828', 'stroke-width': 1,
      visibility: 'hidden' }, svg);
    var overlay = el('rect', { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b,
      fill: 'transparent' }, svg);
    overlay.addEventListener('mousemove', function (evt) {
      var r = svg.getBoundingClientRect();
      var px = (evt.clientX - r.left) * W / r.width;
      var t = t0 + (px - m.l) / (W - m.l - m.r) * span, best = 0;
      samples.forEach(function (s, i) { if (Math.abs(s.t - t) < Math.abs(samples[best].t - t)) { best = i; } });
      var smp = samples[best], lines = [smp.t.toFixed(3) + ' s'];
      types.slice().reverse().forEach(function (ty) { lines.push(ty + ': ' + human(smp.by[ty] || 0)); });
      lines.push('untracked: ' + human(smp.u));
      cursor.setAttribute('x1', x(smp.t));
      cursor.setAttribute('x2', x(smp.t));
      cursor.setAttribute('visibility', 'visible');
      showTip(evt, lines.join('\n'));
    });
    overlay.addEventListener('mouseleave', function () { cursor.setAttribute('visibility', 'hidden'); hideTip(); });
  }

  function legend(id, names) {
    var box = document.getElementById(id);
    names.forEach(function (n) {
      var item = document.createElement('span');
      var sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = color(n);
      item.appendChild(sw);
      item.appendChild(document.createTextNode(n));
      box.appendChild(item);
    });
  }

  function drawTop() {
    var box = document.getElementById('chart-top');
    var tasks = data.top, rowH = 22, labelW = 300, m = { t: 6, b: 6, r: 80 };
    var W = width(box), H = m.t + m.b + Math.max(tasks.length, 1) * rowH;
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, height: H, 'data-chart': 'top',
      role: 'img', 'aria-label': 'top tasks by peak bytes' }, box);
    var plot = el('g', { 'class': 'plot' }, svg);
    if (tasks.length === 0) { label(plot, 4, m.t + 15, 'no tasks held'); return; }
    var max = Math.max.apply(null, tasks.map(function (t) { return t.peak; }).concat([1]));
    tasks.forEach(function (t, i) {
      var y0 = m.t + i * rowH, w = Math.max(t.peak / max * (W - labelW - m.r), 1);
      var name = t.name.length > 42 ? '\u2026' + t.name.slice(-41) : t.name;
      label(plot, labelW - 8, y0 + 15, name + ' #' + t.id, { 'text-anchor': 'end', 'class': 'bar-label' });
      var bar = el('rect', { x: labelW, y: y0 + 3, width: w, height: rowH - 6, rx: 2, fill: color(t.type) }, plot);
      if (t.live > 0) {
        el('rect', { x: labelW, y: y0 + rowH - 6, width: Math.max(t.live / max * (W - labelW - m.r), 1),
          height: 3, fill: '#101828', 'fill-opacity': 0.6 }, plot);
      }
      label(plot, labelW + w + 6, y0 + 15, human(t.peak));
      var tip = t.name + ' #' + t.id + '\n' + t.type + ', ' + t.outcome + '\npeak ' + human(t.peak) +
        '\nlive ' + human(t.live) + '\nallocated ' + human(t.allocated);
      bar.addEventListener('mousemove', function (evt) { showTip(evt, tip); });
      bar.addEventListener('mouseleave', hideTip);
    });
  }

  function measure() {
    var charts = document.querySelectorAll('svg[data-chart]');
    for (var i = 0; i < charts.length; i++) {
      var bb = charts[i].querySelector('.plot').getBBox();
      charts[i].setAttribute('data-bbox', Math.round(bb.width) + 'x' + Math.round(bb.height));
      charts[i].setAttribute('data-shapes', charts[i].querySelectorAll('.plot path, .plot rect').length);
    }
  }

  // Sortable tables: a click (or Enter) on a header sorts by that column, numbers by
  // their cells' raw data-sort value, largest first; a second click reverses. Rows of
  // class "more" stay last; in a table of several tbody.group, the groups sort by their
  // lead rows and the rows inside each group sort too.
  function sortKey(row, col, numeric) {
    var cell = row.cells[col];
    if (!cell) { return numeric ? -Infinity : ''; }
    var raw = cell.getAttribute('data-sort');
    var s = raw !== null ? raw : cell.textContent;
    if (numeric) { var v = parseFloat(s); return isNaN(v) ? -Infinity : v; }
    return s.trim().toLowerCase();
  }
  function order(items, rowOf, col, numeric, dir) {
    return items.sort(function (a, b) {
      var x = sortKey(rowOf(a), col, numeric), y = sortKey(rowOf(b), col, numeric);
      var c = numeric ? (x < y ? -1 : x > y ? 1 : 0) : x.localeCompare(y);
      return dir * c;
    });
  }
  function self(row) { return row; }
  function sortBody(body, from, col, numeric, dir) {
    var rows = Array.prototype.slice.call(body.rows, from);
    var more = rows.filter(function (r) { return r.classList.contains('more'); });
    rows = rows.filter(function (r) { return !r.classList.contains('more'); });
    order(rows, self, col, numeric, dir).concat(more).forEach(function (r) { body.appendChild(r); });
  }
  function sortTable(table, th) {
    var col = th.cellIndex, numeric = th.getAttribute('data-type') === 'num';
    var now = th.getAttribute('aria-sort');
    var dir = now ? (now === 'descending' ? 1 : -1) : (numeric ? -1 : 1);
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute('aria-sort'); }
    th.setAttribute('aria-sort', dir < 0 ? 'descending' : 'ascending');
    var bodies = Array.prototype.slice.call(table.tBodies);
    var groups = bodies.filter(function (b) { return b.classList.contains('group'); });
    if (groups.length === 0) {
      bodies.forEach(function (b) { sortBody(b, 0, col, numeric, dir); });
      return;
    }
    groups.forEach(function (b) { sortBody(b, 1, col, numeric, dir); });
    order(groups, function (b) { return b.rows[0]; }, col, numeric, dir)
      .forEach(function (b) { table.appendChild(b); });
  }
  function toggleGroup(button) {
    var open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    var rows = button.closest('tbody').querySelectorAll('tr.sub');
    for (var i = 0; i < rows.length; i++) {
      if (open) { rows[i].removeAttribute('hidden'); } else { rows[i].setAttribute('hidden', ''); }
    }
  }
  function sortable() {
    Array.prototype.slice.call(document.querySelectorAll('table.sortable')).forEach(function (table) {
      Array.prototype.slice.call(table.tHead.rows[0].cells).forEach(function (th) {
        th.tabIndex = 0;
        th.addEventListener('click', function () { sortTable(table, th); });
        th.addEventListener('keydown', function (evt) {
          if (evt.key === 'Enter' || evt.key === ' ') { evt.preventDefault(); sortTable(table, th); }
        });
      });
    });
    Array.prototype.slice.call(document.querySelectorAll('button.toggle')).forEach(function (b) {
      b.addEventListener('click', function () { toggleGroup(b); });
    });
  }

  sortable();
  legend('legend-timeline', data.types);
  legend('legend-top', data.top_types);
  drawTimeline();
  drawTop();
  document.getElementById('show-untracked').addEventListener('change', function () {
    drawTimeline();
    measure();
  });
  measure();
  if (!body.hasAttribute('data-error')) { body.setAttribute('data-rendered', 'ok'); }
})();
