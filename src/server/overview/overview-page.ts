import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AUTH_MODES } from '../../config';
import type { StaticAsset } from '../graphiql/graphiql-page';
import { OVERVIEW_QUERIES } from './overview-queries';
import { OVERVIEW_SCRIPT } from './overview-script';
import { OVERVIEW_STYLE } from './overview-style';

/** Path of the overview page. */
export const OVERVIEW_PATH = '/overview';
/** URL prefix of the overview page's script, stylesheet and ECharts build. */
export const OVERVIEW_ASSET_PREFIX = '/overview/assets/';

/**
 * The page's Content-Security-Policy: scripts and requests to this origin only, no inline script.
 * Inline styles are allowed because ECharts positions its tooltips with `style` attributes.
 */
export const OVERVIEW_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The overview page and its assets, built once at start. */
export interface OverviewSite {
  html: string;
  assets: Map<string, StaticAsset>;
}

const JS = 'text/javascript; charset=utf-8';
type AuthMode = (typeof AUTH_MODES)[number];

/**
 * Builds the overview page for the auth mode (`jwt` shows a token field): the HTML, its script (the panels' queries
 * and the page logic), its stylesheet, and Apache ECharts' browser build read from node_modules (no CDN).
 */
export function loadOverview(authMode: AuthMode): OverviewSite {
  // echarts' `exports` hide its dist/ files from require.resolve; locate them beside package.json.
  const echarts = readFileSync(join(dirname(require.resolve('echarts/package.json')), 'dist', 'echarts.min.js'));
  const script = `var OVERVIEW_QUERIES = ${JSON.stringify(OVERVIEW_QUERIES)};\n${OVERVIEW_SCRIPT}`;
  const assets = new Map<string, StaticAsset>([
    ['echarts.min.js', { contentType: JS, body: echarts }],
    ['overview.js', { contentType: JS, body: Buffer.from(script) }],
    ['overview.css', { contentType: 'text/css; charset=utf-8', body: Buffer.from(OVERVIEW_STYLE) }],
  ]);
  // The assets are cached for a day: their links carry a hash of their content, so an upgrade loads the new ones.
  const version = (name: string) =>
    `${OVERVIEW_ASSET_PREFIX}${name}?v=${createHash('sha256').update(assets.get(name)!.body).digest('hex').slice(0, 12)}`;
  return { html: renderOverviewPage(authMode, version), assets };
}

/** A chart panel: its title, a note line (errors), the chart, and the link to its query (set by the script). */
function panel(id: string, title: string, { wide = false, extra = '' } = {}): string {
  return `<section id="panel-${id}" class="panel${wide ? ' wide' : ''}" data-state="idle">
<h2>${title}${extra}<a class="graphiql" href="/graphql">query in GraphiQL</a></h2>
<div class="note"></div>
<div class="chart"></div>
</section>`;
}

function renderOverviewPage(authMode: AuthMode, asset: (name: string) => string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DPoD audit gateway · Overview</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset('overview.css')}">
</head>
<body data-auth-mode="${authMode}" data-state="loading">
<header>
<h1>DPoD audit overview</h1>
<nav><a href="/graphql">GraphiQL</a></nav>
<form id="filters" autocomplete="off">
<label>From (RFC 3339, inclusive)<input name="from" placeholder="2025-01-01T00:00:00Z"></label>
<label>To (exclusive)<input name="to" placeholder="2025-01-08T00:00:00Z"></label>
<label>Services (ids, comma-separated)<input name="services" class="ids" placeholder="all"></label>
<label>Clients (ids, comma-separated)<input name="clients" class="ids" placeholder="all"></label>
<button type="submit">Apply</button>
</form>
<form id="token" hidden>
<label>Bearer token (scope audit:read; kept in this tab only)<input name="token" type="password" class="ids" placeholder="eyJ…"></label>
<button type="submit">Use token</button>
<button type="button" id="forget-token" class="secondary">Forget token</button>
</form>
</header>
<div id="state" class="state" role="status">Loading…</div>
<main>
<section id="panel-totals" class="panel wide" data-state="idle">
<h2>Events for the filter<a class="graphiql" href="/graphql">query in GraphiQL</a></h2>
<div class="note"></div>
<div class="kpis">
<div class="kpi"><span class="label">Events</span><span id="total" class="value">–</span></div>
<div class="kpi"><span class="label">Failed</span><span id="failed" class="value">–</span></div>
<div class="kpi"><span class="label">Failure rate</span><span id="failure-rate" class="value">–</span></div>
<div class="kpi"><span class="label">Clients</span><span id="distinct-clients" class="value">–</span></div>
<div class="kpi"><span class="label">Services</span><span id="distinct-services" class="value">–</span></div>
</div>
<div id="span"></div>
<div class="downloads">Download these events: <a id="download-csv" download>CSV</a> · <a id="download-ndjson" download>NDJSON</a> · <a id="download-manifest" download>the CSV's manifest</a> (signed links: no token needed until <span id="download-expiry">–</span>)</div>
</section>
${panel('timeline', 'Events and failures over time', { wide: true, extra: ' <span class="interval"></span>' })}
${panel('actions', 'Top actions')}
${panel('statuses', 'Statuses', { extra: ' <span class="interval">log scale</span>' })}
${panel('clients', 'Top clients')}
${panel('services', 'Services')}
<section id="panel-findings" class="panel wide" data-state="idle">
<h2>Open findings <span class="count"></span><a class="graphiql" href="/graphql">query in GraphiQL</a></h2>
<div class="note"></div>
<table>
<thead><tr><th>Severity</th><th>Rule</th><th>Summary</th><th>Service</th><th>Client</th><th>First seen</th><th>Last seen</th><th>Events</th></tr></thead>
<tbody></tbody>
</table>
</section>
</main>
<script src="${asset('echarts.min.js')}"></script>
<script src="${asset('overview.js')}"></script>
</body>
</html>
`;
}
