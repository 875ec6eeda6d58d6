import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExampleQuery } from './example-queries';
import { SUBSCRIPTION_FETCHER_SCRIPT } from './subscription-fetcher';

/** URL prefix of the GraphiQL assets served from the project's own node_modules. */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql/assets/';

/** A static file served to the browser. */
export interface StaticAsset {
  contentType: string;
  body: Buffer;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const ASSET_SOURCES: Record<string, { pkg: string; file: string; contentType: string }> = {
  'react.production.min.js': { pkg: 'react', file: 'umd/react.production.min.js', contentType: JS },
  'react-dom.production.min.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', contentType: JS },
  'graphiql.min.js': { pkg: 'graphiql', file: 'graphiql.min.js', contentType: JS },
  'graphiql.min.css': { pkg: 'graphiql', file: 'graphiql.min.css', contentType: CSS },
  // The Explorer's UMD build reads window.React, window.GraphiQL.React (@graphiql/react) and window.GraphiQL.GraphQL,
  // all set by the React and GraphiQL builds the page loads before it, and sets window.GraphiQLPluginExplorer.
  'graphiql-plugin-explorer.umd.js': { pkg: '@graphiql/plugin-explorer', file: 'dist/index.umd.js', contentType: JS },
  'graphiql-plugin-explorer.css': { pkg: '@graphiql/plugin-explorer', file: 'dist/style.css', contentType: CSS },
};

/** Loads the GraphiQL, Explorer, React and ReactDOM builds from node_modules (no CDN: the page works offline). */
export function loadGraphiqlAssets(): Map<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  for (const [name, { pkg, file, contentType }] of Object.entries(ASSET_SOURCES)) {
    // The packages' `exports` hide these browser builds from require.resolve; locate them beside package.json.
    assets.set(name, { contentType, body: readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), file)) });
  }
  return assets;
}

/** JSON for an inline <script>: `<`, `>` and `&` escaped so no value can close the tag. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028|\u2029/g, '');
}

/** Options for {@link renderGraphiqlPage}. */
export interface GraphiqlPageOptions {
  /** Path of the GraphQL endpoint (default `/graphql`). */
  endpoint?: string;
  examples: ExampleQuery[];
  /** Pre-filled request headers, as the JSON text of the headers editor (default: a bearer-token hint when auth is on). */
  headers?: string;
}

/**
 * The GraphiQL HTML page: one tab per example query (subscriptions too), docs explorer, the Explorer plugin (queries
 * built by ticking fields), headers editor for the bearer token, a link to `/overview`. A `?query=` (and `&variables=`)
 * in the page's URL opens as the active tab.
 */
export function renderGraphiqlPage(options: GraphiqlPageOptions): string {
  const endpoint = options.endpoint ?? '/graphql';
  const tabs = options.examples.map((e) => ({
    query: `# ${e.title}\n${e.query}`,
    variables: JSON.stringify(e.variables, null, 2),
  }));
  const config = { endpoint, tabs, headers: options.headers ?? '' };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DPoD audit gateway · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${GRAPHIQL_ASSET_PREFIX}graphiql.min.css">
<link rel="stylesheet" href="${GRAPHIQL_ASSET_PREFIX}graphiql-plugin-explorer.css">
<style>
html, body, #graphiql { height: 100%; margin: 0; }
.dpod-overview-link { color: hsl(var(--color-primary)); font-size: var(--font-size-body); text-decoration: none; }
.dpod-overview-link:hover { text-decoration: underline; }
</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="${GRAPHIQL_ASSET_PREFIX}react.production.min.js"></script>
<script src="${GRAPHIQL_ASSET_PREFIX}react-dom.production.min.js"></script>
<script src="${GRAPHIQL_ASSET_PREFIX}graphiql.min.js"></script>
<script src="${GRAPHIQL_ASSET_PREFIX}graphiql-plugin-explorer.umd.js"></script>
<script>${SUBSCRIPTION_FETCHER_SCRIPT}</script>
<script>
(function () {
  var config = ${inlineJson(config)};
  var url = new URL(config.endpoint, window.location.href).toString();
  // Queries and mutations through GraphiQL's fetcher; subscriptions as an event stream (graphql-sse).
  var fetcher = createLiveFetcher(url, GraphiQL.createFetcher({ url: url }));
  var props = {
    fetcher: fetcher,
    defaultTabs: config.tabs,
    defaultHeaders: config.headers,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    plugins: [GraphiQLPluginExplorer.explorerPlugin()]
  };
  // A link such as /graphql?query=... (the overview's) opens its query as the active tab: first of the default tabs
  // on a first visit, and added to (or picked from) the tabs GraphiQL kept in localStorage on a later one.
  var params = new URLSearchParams(window.location.search);
  if (params.has('query')) {
    var linked = { query: params.get('query'), variables: params.get('variables') || undefined };
    props.query = linked.query;
    props.variables = linked.variables;
    props.defaultTabs = [linked].concat(config.tabs);
  }
  var overview = React.createElement('a', { className: 'dpod-overview-link', href: '/overview' }, 'Overview');
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, props, React.createElement(GraphiQL.Logo, null, overview)));
})();
</script>
</body>
</html>
`;
}
