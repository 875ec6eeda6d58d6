import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DpodClient, DpodResponseError, DpodUnavailableError, type DpodCallRecord } from '../../src/dpod';
import { DpodDirectory } from '../../src/graphql/live/dpod-directory';
import { TtlCache } from '../../src/graphql/live/ttl-cache';
import { readAll } from './client-fixture';

/** A DPoD that lies in ways the simulator cannot: each test sets `handle` for the API routes. */
let server: Server;
let base = '';
let handle: (req: IncomingMessage, res: ServerResponse, url: URL) => void = (_req, res) => res.end();
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    if (url.pathname === '/oauth/token') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: 'tok', token_type: 'bearer', expires_in: 3599 }));
      return;
    }
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    handle(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests.length = 0;
});

function client(options: { timeoutMs?: number; pageSize?: number; maxBodyBytes?: number } = {}): {
  client: DpodClient;
  calls: DpodCallRecord[];
} {
  const calls: DpodCallRecord[] = [];
  const c = new DpodClient({
    apiUrl: base,
    tokenUrl: `${base}/oauth/token`,
    clientId: 'id',
    clientSecret: 'secret',
    retryBaseMs: 5,
    retryMaxMs: 20,
    maxRetries: 2,
    timeoutMs: options.timeoutMs ?? 2000,
    deadlineMs: 10_000,
    pageSize: options.pageSize,
    maxBodyBytes: options.maxBodyBytes,
    onCall: (call) => calls.push(call),
  });
  return { client: c, calls };
}

const json = (res: ServerResponse, body: unknown) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};

describe('DpodClient against a DPoD that lies', () => {
  it('fails a download that stops sending mid-body after the per-attempt timeout instead of waiting forever', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': '1000' });
      res.write(Buffer.alloc(100, 0x61)); // then nothing more, connection left open
    };
    const { client: c } = client({ timeoutMs: 300 });
    const started = Date.now();
    const read = readAll(await c.downloadExport(`${base}/files/export.gz`));
    await expect(read).rejects.toBeInstanceOf(DpodUnavailableError);
    await expect(read).rejects.toMatchObject({ call: 'downloadExport', status: 'timeout' });
    await expect(read).rejects.toThrow(/no bytes for 300 ms/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('does not time out a download whose reader is slower than the timeout (backpressure is not a stall)', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024, 0x62);
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) });
      res.end(body);
    };
    const { client: c } = client({ timeoutMs: 200 });
    const stream = await c.downloadExport(`${base}/files/export.gz`);
    let got = 0;
    let first = true;
    for await (const chunk of stream) {
      if (first) await new Promise((r) => setTimeout(r, 500)); // a busy database, say
      first = false;
      got += (chunk as Buffer).length;
    }
    expect(got).toBe(body.length);
  });

  it('refuses a signed URL that answers 200 with an HTML page instead of the export file', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html>\n<html><body>Sign in to continue</body></html>');
    };
    const { client: c } = client();
    const call = c.downloadExport(`${base}/files/export.gz?sig=x`);
    await expect(call).rejects.toBeInstanceOf(DpodResponseError);
    await expect(call).rejects.toMatchObject({ call: 'downloadExport', status: 200 });
    await expect(call.catch((err: DpodResponseError) => err.bodyExcerpt)).resolves.toContain('Sign in to continue');
    await expect(call).rejects.toThrow(/HTML page/);
  });

  it('stops reading an API answer larger than maxBodyBytes, declared or not, instead of holding all of it', async () => {
    const padding = ' '.repeat(8 * 1024 * 1024);
    for (const declared of [true, false]) {
      handle = (_req, res) => {
        const body = `{"content":[{"service_id":"s1"}],${padding}"totalPages":1}`;
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(declared ? { 'content-length': String(body.length) } : {}),
        });
        res.end(body);
      };
      const { client: c } = client({ maxBodyBytes: 1024 * 1024 });
      const call = c.listServicesPage({ page: 0, size: 10 });
      await expect(call).rejects.toBeInstanceOf(DpodResponseError);
      await expect(call).rejects.toMatchObject({ call: 'listServicesPage', status: 200, attempts: 1 });
      await expect(call).rejects.toThrow(/larger than 1048576 bytes/);
    }
  });

  it('reads an API answer that starts with a byte-order mark', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`\ufeff${JSON.stringify({ content: [{ service_id: 's1' }], totalPages: 1 })}`);
    };
    expect((await client().client.listServicesPage({ page: 0, size: 10 })).items.map((s) => s.id)).toEqual(['s1']);
  });

  it('stops walking a service list whose pages all repeat the first one (page parameter ignored) with a clear error', async () => {
    let served = 0;
    handle = (_req, res) => {
      served++;
      json(res, {
        content: [{ service_id: 's1' }, { service_id: 's2' }],
        totalElements: 1e9,
        totalPages: 5e8,
        number: 0,
        size: 2,
      });
    };
    const { client: c } = client({ pageSize: 2 });
    const call = c.listServices();
    await expect(call).rejects.toBeInstanceOf(DpodResponseError);
    await expect(call).rejects.toMatchObject({ call: 'listServicesPage', status: 200 });
    await expect(call).rejects.toThrow(/page 1 adds no new item: it repeats earlier pages/);
    // The first page, then the next four at once (the walk reads four pages ahead).
    expect(served).toBe(5);
  });

  it("stops walking bindings whose total pages grow with every page, at the first answer's count", async () => {
    handle = (_req, res, url) => {
      const page = Number(url.searchParams.get('page'));
      json(res, {
        content: [{ clientId: `c${page}` }],
        totalElements: page + 2,
        totalPages: page + 2,
        number: page,
        size: 1,
      });
    };
    const { client: c } = client({ pageSize: 1 });
    const bindings = await c.listBindings('svc');
    expect(bindings?.map((b) => b.clientId)).toEqual(['c0', 'c1']);
    expect(requests).toHaveLength(2);
  });
});

describe('DpodDirectory against a DPoD that lies', () => {
  it('fails listing every service when pages repeat under a huge page count, after a bounded number of requests', async () => {
    handle = (_req, res) =>
      json(res, {
        content: [{ service_id: 's1' }, { service_id: 's2' }],
        totalElements: 1e7,
        totalPages: 1e5,
        number: 0,
        size: 100,
      });
    const directory = new DpodDirectory(client().client, new TtlCache({ ttlSeconds: 60 }));
    const call = directory.allServices(null);
    await expect(call).rejects.toBeInstanceOf(DpodResponseError);
    await expect(call).rejects.toThrow(/repeats/);
    expect(requests.length).toBeLessThanOrEqual(10);
  }, 10_000);

  it('lists a service that two pages both hold once', async () => {
    handle = (_req, res, url) => {
      const page = Number(url.searchParams.get('page'));
      json(res, {
        content:
          page === 0 ? [{ service_id: 's1' }, { service_id: 's2' }] : [{ service_id: 's2' }, { service_id: 's3' }],
        totalElements: 4,
        totalPages: 2,
        number: page,
        size: 100,
      });
    };
    const directory = new DpodDirectory(client().client, new TtlCache({ ttlSeconds: 60 }));
    expect((await directory.allServices(null)).map((s) => s.id)).toEqual(['s1', 's2', 's3']);
  });
});
