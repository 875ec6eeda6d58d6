/**
 * Browser source of the overview page (served as `/overview/assets/overview.js`, after `OVERVIEW_QUERIES` and
 * `echarts`): reads the filter from the URL, sends each panel's query to POST /graphql, draws it with ECharts.
 *
 * Plain ES2017 with no build step. Text from the API reaches the DOM through `textContent` only (ECharts draws labels
 * on a canvas). Each panel records what its chart holds (read back from the chart's own option) in `data-` attributes:
 * `data-sum`, `data-failed`, `data-points` (JSON `[key, count]` pairs), which the browser test compares to the API.
 */
export const OVERVIEW_SCRIPT = String.raw`
(function () {
  'use strict';
  var TOKEN_KEY = 'dpod-audit-overview-token';
  var HOUR_MS = 3600000;
  var RFC3339 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i;
  var authMode = document.body.getAttribute('data-auth-mode') || 'none';
  var endpoint = '/graphql';
  var charts = {};
  var generation = 0;

  function $(id) { return document.getElementById(id); }

  function setState(state, message) {
    document.body.setAttribute('data-state', state);
    var box = $('state');
    box.textContent = message || '';
    box.hidden = !message;
    box.className = 'state state-' + state;
  }

  // ---- the filter, kept in the URL: from, to (RFC 3339), services, clients (comma-separated ids) ----
  function splitIds(text) {
    return (text || '').split(',').map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function readFilter(search) {
    var params = new URLSearchParams(search);
    return {
      from: params.get('from') || '',
      to: params.get('to') || '',
      services: splitIds(params.get('services')),
      clients: splitIds(params.get('clients')),
    };
  }

  function searchOf(f) {
    var parts = [];
    if (f.from) parts.push(['from', f.from]);
    if (f.to) parts.push(['to', f.to]);
    if (f.services.length) parts.push(['services', f.services.join(',')]);
    if (f.clients.length) parts.push(['clients', f.clients.join(',')]);
    // Commas and colons are legal in a query string: keep the link readable.
    return parts.length
      ? '?' + parts.map(function (p) {
          return p[0] + '=' + encodeURIComponent(p[1]).replace(/%2C/gi, ',').replace(/%3A/gi, ':');
        }).join('&')
      : '';
  }

  function eventFilter(f) {
    var filter = {};
    if (f.from) filter.from = f.from;
    if (f.to) filter.to = f.to;
    if (f.services.length) filter.serviceIds = f.services;
    if (f.clients.length) filter.clientIds = f.clients;
    return filter;
  }

  function checkTime(name, value) {
    if (value && !(RFC3339.test(value) && !isNaN(Date.parse(value))))
      return name + ' must be an RFC 3339 time such as 2025-01-31T00:00:00Z (got "' + value + '").';
    return null;
  }

  function fillForm(f) {
    var form = $('filters');
    form.elements.from.value = f.from;
    form.elements.to.value = f.to;
    form.elements.services.value = f.services.join(', ');
    form.elements.clients.value = f.clients.join(', ');
  }

  // ---- the API ----
  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function graphiqlLink(query, variables) {
    return endpoint + '?query=' + encodeURIComponent(query) + '&variables=' + encodeURIComponent(JSON.stringify(variables));
  }

  function ApiError(message, code) {
    this.message = message;
    this.code = code;
  }

  function gql(query, variables) {
    var headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
    if (authMode === 'jwt') headers.authorization = 'Bearer ' + token();
    return fetch(endpoint, { method: 'POST', headers: headers, body: JSON.stringify({ query: query, variables: variables }) })
      .then(function (res) {
        return res.json().catch(function () { throw new ApiError('HTTP ' + res.status + ' without a GraphQL answer.'); });
      })
      .then(function (body) {
        if (body.errors && body.errors.length && !body.data) {
          var first = body.errors[0];
          throw new ApiError(first.message, first.extensions && first.extensions.code);
        }
        return body;
      });
  }

  // ---- drawing ----
  function number(n) { return Number(n).toLocaleString('en'); }

  function chartOf(panel) {
    var el = document.querySelector('#panel-' + panel + ' .chart');
    if (!charts[panel]) charts[panel] = echarts.init(el, null, { renderer: 'canvas' });
    return charts[panel];
  }

  function seriesData(chart, index) {
    var series = chart.getOption().series[index];
    return series.data.map(function (d) { return Array.isArray(d) ? d[1] : (d && typeof d === 'object' ? d.value : d); });
  }

  function record(panel, attrs) {
    var el = $('panel-' + panel);
    Object.keys(attrs).forEach(function (k) { el.setAttribute('data-' + k, String(attrs[k])); });
  }

  function panelStart(panel, query, variables) {
    var el = $('panel-' + panel);
    el.setAttribute('data-state', 'loading');
    el.querySelector('a.graphiql').href = graphiqlLink(query, variables);
    el.querySelector('.note').textContent = '';
  }

  function panelDone(panel, body) {
    var el = $('panel-' + panel);
    el.setAttribute('data-state', 'ready');
    if (body.errors && body.errors.length)
      el.querySelector('.note').textContent = 'Partly answered: ' + body.errors.map(function (e) { return e.message; }).join(' ');
  }

  function panelFailed(panel, err) {
    var el = $('panel-' + panel);
    el.setAttribute('data-state', 'error');
    el.querySelector('.note').textContent = 'Failed: ' + err.message;
  }

  // Buckets start on UTC boundaries: the time axis is drawn in UTC too, whatever the browser's zone.
  var BASE = { animation: false, useUTC: true, grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true }, tooltip: {} };

  function drawTimeline(buckets, interval) {
    var chart = chartOf('timeline');
    chart.setOption(Object.assign({}, BASE, {
      tooltip: { trigger: 'axis' },
      legend: { data: ['events', 'failed'], top: 0 },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true, formatter: { day: '{MMM} {d}', hour: '{HH}:{mm}', minute: '{HH}:{mm}' } } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: 'events', type: 'bar', barGap: '-100%', itemStyle: { color: '#5470c6' },
          data: buckets.map(function (b) { return [b.start, b.count]; }) },
        { name: 'failed', type: 'bar', itemStyle: { color: '#d9534f' },
          data: buckets.map(function (b) { return [b.start, b.failed]; }) },
      ],
    }), true);
    var counts = seriesData(chart, 0);
    var failed = seriesData(chart, 1);
    record('timeline', {
      sum: counts.reduce(function (a, b) { return a + b; }, 0),
      failed: failed.reduce(function (a, b) { return a + b; }, 0),
      buckets: counts.length,
      interval: interval,
    });
    $('panel-timeline').querySelector('.interval').textContent = interval === 'HOUR' ? 'per hour (UTC)' : 'per day (UTC)';
  }

  // A horizontal bar chart of [key, label, count] rows, largest on top; log scale when one bucket dwarfs the rest.
  function drawBars(panel, rows, color, log) {
    var chart = chartOf(panel);
    var shown = rows.slice().reverse();
    chart.setOption(Object.assign({}, BASE, {
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      xAxis: log ? { type: 'log', min: 1, axisLabel: { hideOverlap: true } }
        : { type: 'value', minInterval: 1, splitNumber: 4, axisLabel: { hideOverlap: true } },
      yAxis: { type: 'category', data: shown.map(function (r) { return r[1]; }),
               axisLabel: { width: 220, overflow: 'truncate' } },
      series: [{ type: 'bar', itemStyle: { color: color }, label: { show: true, position: 'right' },
                 data: shown.map(function (r) { return r[2]; }) }],
    }), true);
    recordBuckets(panel, rows, seriesData(chart, 0).slice().reverse());
  }

  function recordBuckets(panel, rows, values) {
    record(panel, {
      sum: values.reduce(function (a, b) { return a + b; }, 0),
      points: JSON.stringify(rows.map(function (r, i) { return [r[0], values[i]]; })),
    });
  }

  function utc(time) { return time.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC'); }

  function short(id) { return id.length > 13 ? id.slice(0, 8) + '…' : id; }

  function cell(row, text, title) {
    var td = document.createElement('td');
    td.textContent = text;
    if (title) td.title = title;
    row.appendChild(td);
  }

  function drawFindings(connection) {
    var body = document.querySelector('#panel-findings tbody');
    body.textContent = '';
    connection.nodes.forEach(function (f) {
      var tr = document.createElement('tr');
      tr.className = 'severity-' + String(f.severity).toLowerCase();
      cell(tr, f.severity);
      cell(tr, f.rule);
      cell(tr, f.summary);
      cell(tr, f.service.name || short(f.service.id), f.service.id);
      cell(tr, f.client ? f.client.name || short(f.client.id) : '', f.client ? f.client.id : '');
      cell(tr, utc(f.firstSeen));
      cell(tr, utc(f.lastSeen));
      cell(tr, number(f.count));
      body.appendChild(tr);
    });
    var shown = connection.nodes.length;
    var caption = connection.totalCount === 0 ? 'No open findings for this filter.'
      : number(connection.totalCount) + ' open' + (shown < connection.totalCount ? ', the ' + shown + ' newest shown' : '');
    $('panel-findings').querySelector('.count').textContent = caption;
    record('findings', { total: connection.totalCount, rows: shown });
  }

  function kpi(id, value, text) {
    var el = $(id);
    el.setAttribute('data-value', String(value));
    el.textContent = text;
  }

  // Signed links (exportLink): a download needs no token, for 15 minutes, scoped as the caller who asked.
  function drawDownloads(data) {
    $('download-csv').href = data.csv.url;
    $('download-manifest').href = data.csv.manifestUrl;
    $('download-ndjson').href = data.ndjson.url;
    $('download-expiry').textContent = utc(data.csv.expiresAt);
  }

  function drawTotals(conn) {
    var a = conn.aggregate;
    kpi('total', conn.totalCount, number(conn.totalCount));
    kpi('failed', a.failed, number(a.failed));
    kpi('failure-rate', a.failureRate, (a.failureRate * 100).toFixed(2) + ' %');
    kpi('distinct-clients', a.distinctClients, number(a.distinctClients));
    kpi('distinct-services', a.distinctServices, number(a.distinctServices));
    $('span').textContent = a.first ? 'from ' + utc(a.first) + ' to ' + utc(a.last) : 'no events';
  }

  // HOUR buckets up to three days, DAY beyond: the window asked for, else the events' own span.
  function intervalFor(f, aggregate) {
    var from = f.from ? Date.parse(f.from) : aggregate.first ? Date.parse(aggregate.first) : NaN;
    var to = f.to ? Date.parse(f.to) : aggregate.last ? Date.parse(aggregate.last) : NaN;
    return isNaN(from) || isNaN(to) || to - from <= 72 * HOUR_MS ? 'HOUR' : 'DAY';
  }

  // ---- one load of the whole page for the filter in the URL ----
  function panel(run, name, variables, draw) {
    var query = OVERVIEW_QUERIES[name];
    panelStart(name, query, variables);
    return gql(query, variables)
      .then(function (body) {
        if (run !== generation) return;
        draw(body.data);
        panelDone(name, body);
      })
      .catch(function (err) {
        if (run === generation) panelFailed(name, err);
        throw err;
      });
  }

  function load() {
    var run = ++generation;
    var f = readFilter(location.search);
    fillForm(f);
    var bad = checkTime('from', f.from) || checkTime('to', f.to);
    if (bad) { setState('error', bad); return Promise.resolve(); }
    if (authMode === 'jwt' && !token()) {
      setState('token-needed', 'Token needed: this server runs with AUTH_MODE=jwt. Paste a JWT with the scope audit:read in the token field above; it stays in this tab (sessionStorage) only.');
      return Promise.resolve();
    }
    setState('loading', 'Loading…');
    var filter = { filter: eventFilter(f) };
    var findingFilter = Object.assign({ status: 'OPEN' }, eventFilter(f));
    var aggregate = null;
    return panel(run, 'totals', filter, function (data) {
      aggregate = data.auditEvents.aggregate;
      drawTotals(data.auditEvents);
      drawDownloads(data);
    })
      .then(function () {
        if (run !== generation) return;
        var interval = intervalFor(f, aggregate);
        return Promise.all([
          panel(run, 'timeline', Object.assign({ interval: interval }, filter), function (data) {
            drawTimeline(data.auditEvents.aggregate.timeline, interval);
          }),
          panel(run, 'actions', filter, function (data) {
            drawBars('actions', data.auditEvents.aggregate.byAction.map(function (b) { return [b.key, b.key, b.count]; }), '#5470c6');
          }),
          panel(run, 'statuses', filter, function (data) {
            drawBars('statuses', data.auditEvents.aggregate.byStatus.map(function (b) { return [b.key, b.key, b.count]; }), '#ee6666', true);
          }),
          panel(run, 'clients', filter, function (data) {
            drawBars('clients', data.auditEvents.aggregate.byClient.map(function (b) {
              return [b.client.id, b.client.name || b.client.id, b.count];
            }), '#91cc75');
          }),
          panel(run, 'services', filter, function (data) {
            drawBars('services', data.auditEvents.aggregate.byService.map(function (b) {
              return [b.service.id, b.service.name || b.service.id, b.count];
            }), '#fac858');
          }),
          panel(run, 'findings', { filter: findingFilter }, function (data) { drawFindings(data.findings); }),
        ]);
      })
      .then(function () {
        if (run === generation) setState('ready', '');
      }, function (err) {
        if (run !== generation) return;
        if (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN')
          setState('token-needed', 'Token rejected (' + err.code + '): ' + err.message + ' Paste a valid JWT with the scope audit:read.');
        else setState('error', 'The overview could not be loaded: ' + err.message);
      });
  }

  // ---- the forms ----
  $('filters').addEventListener('submit', function (e) {
    e.preventDefault();
    var form = e.target;
    var f = {
      from: form.elements.from.value.trim(),
      to: form.elements.to.value.trim(),
      services: splitIds(form.elements.services.value),
      clients: splitIds(form.elements.clients.value),
    };
    history.pushState(null, '', location.pathname + searchOf(f));
    load();
  });
  window.addEventListener('popstate', load);

  if (authMode === 'jwt') {
    var tokenForm = $('token');
    tokenForm.hidden = false;
    tokenForm.addEventListener('submit', function (e) {
      e.preventDefault();
      try { sessionStorage.setItem(TOKEN_KEY, tokenForm.elements.token.value.trim()); } catch (err) { /* private mode */ }
      tokenForm.elements.token.value = '';
      load();
    });
    $('forget-token').addEventListener('click', function () {
      try { sessionStorage.removeItem(TOKEN_KEY); } catch (err) { /* private mode */ }
      load();
    });
  }
  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  load();
})();
`;
