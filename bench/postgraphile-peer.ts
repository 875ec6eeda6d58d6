/**
 * PostGraphile v4 (with the connection-filter plugin) as the SPEC's peer for the event page: the same table,
 * the same page, served by a generic PostgreSQL-to-GraphQL server. Benchmark only: installed on first use
 * into `.data/bench-peer` (its own node_modules, so the project keeps one graphql), never a project dependency.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { freePort } from '../src/db/embedded';

/** The versions measured: PostGraphile v4 (the SPEC's figure) and the filter plugin of that line. */
const PACKAGES = ['postgraphile@4.14.1', 'postgraphile-plugin-connection-filter@2.3.0'];
const PEER_DIR = join(__dirname, '..', '..', '.data', 'bench-peer');

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

// The peer's server: PostGraphile's own HTTP handler on node:http, production settings, no query log.
const SERVER_JS = `
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

/** The page of query (1), as PostGraphile spells it (same fields; `meta` is flat there). */
export const POSTGRAPHILE_PAGE_QUERY = `query($s: String!, $from: Datetime!, $to: Datetime!, $after: Cursor) {
  allAuditEvents(filter: { serviceId: { equalTo: $s }, time: { greaterThanOrEqualTo: $from, lessThan: $to } },
                 orderBy: [TIME_DESC, ID_DESC], first: 50, after: $after) {
    edges { cursor node { id time source partitionId tenantId traceId action status succeeded
                          clientIp hsmId objectIds partitionSerial role metaMalformed metaRaw } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}`;

/** A running PostGraphile peer. */
export interface PostgraphilePeer {
  endpoint: string;
  stop(): Promise<void>;
}

/** Installs PostGraphile into `.data/bench-peer` when missing (npm registry needed once); returns its directory. */
function installPeer(log: (line: string) => void): string {
  if (!existsSync(join(PEER_DIR, 'node_modules', 'postgraphile', 'package.json'))) {
    log(`installing ${PACKAGES.join(' ')} into ${PEER_DIR} (benchmark peer, not a project dependency)`);
    mkdirSync(PEER_DIR, { recursive: true });
    writeFileSync(join(PEER_DIR, 'package.json'), JSON.stringify({ name: 'bench-peer', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...PACKAGES], {
      cwd: PEER_DIR,
      stdio: 'inherit',
    });
  }
  writeFileSync(join(PEER_DIR, 'server.js'), SERVER_JS);
  return PEER_DIR;
}

/** Creates the view on the bench database and starts PostGraphile on a free port. */
export async function startPostgraphilePeer(
  sqlPool: pg.Pool,
  dbUrl: string,
  log: (line: string) => void,
): Promise<PostgraphilePeer> {
  const dir = installPeer(log);
  await sqlPool.query(VIEW_SQL);
  const port = await freePort();
  const child = spawn(process.execPath, [join(dir, 'server.js')], {
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
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('postgraphile listening')) resolve();
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then(() => reject(new Error(`PostGraphile exited with ${child.exitCode}: ${output.slice(-2000)}`)));
    setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`PostGraphile did not start in 60 s: ${output.slice(-2000)}`));
    }, 60_000).unref();
  });
  return {
    endpoint: `http://127.0.0.1:${port}/graphql`,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
