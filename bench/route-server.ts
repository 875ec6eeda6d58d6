/**
 * The hand-written HTTP route a user could write instead of the graph (issue 16's yardstick): node:http, one pg
 * pool, the page's SQL, and the same JSON as the GraphQL answer of bench/graphql.ts's slim page
 * (`{ data: { auditEvents: { edges { cursor node { id time action status } } pageInfo { hasNextPage endCursor } } } }`),
 * with cursors. No validation beyond what keeps the SQL well-typed, no limits, no auth, no metrics: the floor of
 * serving this page over HTTP from Node. Benchmark only.
 *
 *   DATABASE_URL=... PORT=... node dist/bench/route-server.js   (POST /events {"service","from","to","after"})
 */
import { createServer } from 'node:http';
import pg from 'pg';

const PAGE = `select id::text as id, time, action, status, (extract(epoch from time) * 1000000)::bigint::text as us
  from audit_events where service_id = $1 and time >= $2 and time < $3 order by time desc, id desc limit 51`;
const AFTER = `select id::text as id, time, action, status, (extract(epoch from time) * 1000000)::bigint::text as us
  from audit_events where service_id = $1 and time >= $2 and time < $3
   and (time, id) < (to_timestamp($4::numeric / 1000000), $5::bigint)
 order by time desc, id desc limit 51`;

interface Row {
  id: string;
  time: Date;
  action: string;
  status: string;
  us: string;
}

interface PageRequest {
  service: string;
  from: string;
  to: string;
  after?: string | null;
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
const cursorOf = (r: Row) => Buffer.from(`${r.us}:${r.id}`).toString('base64url');

async function page(req: PageRequest): Promise<unknown> {
  let rows: Row[];
  if (req.after) {
    const [us, id] = Buffer.from(req.after, 'base64url').toString().split(':');
    rows = (await pool.query<Row>(AFTER, [req.service, req.from, req.to, us, id])).rows;
  } else {
    rows = (await pool.query<Row>(PAGE, [req.service, req.from, req.to])).rows;
  }
  const items = rows.slice(0, 50);
  const last = items[items.length - 1];
  return {
    data: {
      auditEvents: {
        edges: items.map((r) => ({
          cursor: cursorOf(r),
          node: { id: r.id, time: r.time.toISOString(), action: r.action, status: r.status },
        })),
        pageInfo: { hasNextPage: rows.length > 50, endCursor: last ? cursorOf(last) : null },
      },
    },
  };
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    page(JSON.parse(Buffer.concat(chunks).toString('utf8')) as PageRequest).then(
      (body) => {
        const text = JSON.stringify(body);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ message: String(err) }] }));
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('route listening\n'));
process.on('SIGTERM', () => {
  server.close();
  void pool.end();
});
