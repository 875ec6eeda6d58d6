import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { freePort } from '../src/db/embedded';
import { graphqlThroughput, interleavedLatency, ms, postGraphql } from './graphql-support';
import { postgraphileSlimQuery, startPostgraphilePeer, type PeerVersion } from './postgraphile-peer';

const log = (line: string) => process.stdout.write(`${line}\n`);

/** The slim page of issue 16, as this server spells it. */
const SLIM_QUERY = `query($s: ID!, $from: DateTime, $to: DateTime, $after: String) {
  auditEvents(filter: { serviceIds: [$s], from: $from, to: $to }, first: 50, after: $after) {
    edges { cursor node { id time action status } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface SlimPage {
  edges: { cursor: string; node: { time: string; action: string; status: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

interface Target {
  name: string;
  url: string;
  body: string;
  page(data: unknown): SlimPage;
  stop(): Promise<void>;
}

/** Starts the hand-written route (bench/route-server.ts) in its own process. */
async function startRoute(dbUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(__dirname, 'route-server.js')], {
    env: { PATH: process.env.PATH, DATABASE_URL: dbUrl, PORT: String(port), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('route listening')) resolve();
    });
    void exited.then(() => reject(new Error(`the route server exited with ${child.exitCode}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/events`,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A Node >= 22 for PostGraphile v5: --peer-node, this process's, or the Node 24 that .ci/run caches; null if none. */
function peerNode(): string | null {
  const i = process.argv.indexOf('--peer-node');
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1]!;
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const cached = join(
    process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
    'dpod-audit-ci',
    'node-24',
    'package',
    'bin',
    'node',
  );
  return existsSync(cached) ? cached : null;
}

/**
 * The slim page from this server, the hand-written route and (with `peers`) PostGraphile v5 and v4, checked to
 * return the same events, then p50 alternated request by request and req/s at `connections` clients (`rounds`
 * rounds, every target in turn in each, the order rotated from round to round). Prints the ratios the targets of
 * issue 16 are written in; the req/s ratios are the median of each round's own ratio (the targets of one round ran
 * seconds apart, so load from elsewhere on a shared machine moves them alike), with their range.
 */
export async function sideBySide(o: {
  endpoint: string;
  /** The same server with GRAPHQL_FAST_LANE=false: what the fast lane gains, in the same run. */
  apolloOnlyEndpoint?: string;
  dbUrl: string;
  sqlPool: pg.Pool;
  variables: { s: string; from: string; to: string; after: null };
  samples: number;
  seconds: number;
  connections: number;
  /** Throughput rounds (default 4). */
  rounds?: number;
  peers: boolean;
}): Promise<void> {
  const targets: Target[] = [];
  try {
    // This server, and the same with its fast lane off: the same query and page.
    const own = (name: string, url: string): Target => ({
      name,
      url,
      body: JSON.stringify({ query: SLIM_QUERY, variables: o.variables }),
      page: (d) => (d as { auditEvents: SlimPage }).auditEvents,
      stop: () => Promise.resolve(),
    });
    targets.push(own('this server (GraphQL)', o.endpoint));
    if (o.apolloOnlyEndpoint)
      targets.push(own('this server, fast lane off (GRAPHQL_FAST_LANE=false)', o.apolloOnlyEndpoint));
    const route = await startRoute(o.dbUrl);
    targets.push({
      name: 'hand-written route (node:http + pg)',
      url: route.url,
      body: JSON.stringify({ service: o.variables.s, from: o.variables.from, to: o.variables.to, after: null }),
      page: (d) => (d as { auditEvents: SlimPage }).auditEvents,
      stop: () => route.stop(),
    });
    if (o.peers) {
      const node24 = peerNode();
      const versions: [PeerVersion, string | null][] = [
        [5, node24],
        [4, process.execPath],
      ];
      for (const [version, node] of versions) {
        if (node === null) {
          log(`PostGraphile v${version}: skipped (needs Node >= 22: pass --peer-node <path>)`);
          continue;
        }
        const peer = await startPostgraphilePeer(o.sqlPool, o.dbUrl, log, version, node);
        targets.push({
          name: `PostGraphile v${version} + connection-filter`,
          url: peer.endpoint,
          body: JSON.stringify({ query: postgraphileSlimQuery(version), variables: o.variables }),
          page: (d) => (d as { allAuditEvents: SlimPage }).allAuditEvents,
          stop: () => peer.stop(),
        });
      }
    }
    // The same 50 events, in the same order, from every target.
    const pages = await Promise.all(targets.map(async (t) => t.page(await postGraphql(t.url, t.body))));
    const key = (p: SlimPage) => p.edges.map((e) => `${new Date(e.node.time).getTime()}/${e.node.action}`).join(',');
    for (const [i, p] of pages.entries()) {
      if (p.edges.length !== 50 || !p.pageInfo.hasNextPage) throw new Error(`${targets[i]!.name}: not a full page`);
      if (key(p) !== key(pages[0]!)) throw new Error(`${targets[i]!.name} returned another page than this server`);
    }
    const latency = await interleavedLatency(
      targets.map((t) => () => postGraphql(t.url, t.body)),
      o.samples,
    );
    const rounds = o.rounds ?? 4;
    const rps = targets.map((): number[] => []);
    for (let round = 0; round < rounds; round++)
      for (let k = 0; k < targets.length; k++) {
        const i = (k + round) % targets.length;
        const t = targets[i]!;
        const run = await graphqlThroughput(t.url, t.body, o.connections, o.seconds).catch((err: unknown) => {
          throw new Error(`${t.name}, round ${round + 1}: ${err instanceof Error ? err.message : String(err)}`);
        });
        rps[i]!.push(run.rps);
      }
    const median = (l: number[]) => {
      const s = [...l].sort((a, b) => a - b);
      return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    /** The median and range of a ratio taken round by round. */
    const ratio = (a: number[], b: number[]) => {
      const r = a.map((x, k) => x / b[k]!);
      return `${median(r).toFixed(2)}x (${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)})`;
    };
    log('');
    log(
      `Side by side: the slim page of 50 (id time action status, cursors, pageInfo), alternated; ${o.connections} clients for req/s, ${rounds} rounds of ${o.seconds} s`,
    );
    log(
      '| server | p50 | p95 | req/s by round | p50 / route | req/s / route, by round: median (range) | this server / it, by round |',
    );
    log('|---|---|---|---|---|---|---|');
    const routeAt = targets.findIndex((t) => t.name.startsWith('hand-written route'));
    const routeP50 = latency[routeAt]!.p50;
    for (const [i, t] of targets.entries()) {
      log(
        `| ${t.name} | ${ms(latency[i]!.p50)} | ${ms(latency[i]!.p95)} | ${rps[i]!.map((r) => r.toFixed(0)).join(', ')} | ` +
          `${(latency[i]!.p50 / routeP50).toFixed(2)}x | ${ratio(rps[i]!, rps[routeAt]!)} | ${ratio(rps[0]!, rps[i]!)} |`,
      );
    }
    log(
      'targets: this server p50 <= 1.25x the route, req/s >= 0.7x the route, >= 1.5x PostGraphile v5, >= 2x PostGraphile v4',
    );
  } finally {
    for (const t of targets.reverse()) await t.stop();
  }
}
