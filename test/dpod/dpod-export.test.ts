import yauzl from 'yauzl';
import { DpodExportError, DpodRequestError } from '../../src/dpod';
import {
  generateRecords,
  renderRecordLine,
  startSimulator,
  summarizeRecords,
  type RawAuditRecord,
  type RecordSummary,
  type RunningSimulator,
} from '../../src/simulator';
import { clientFor, gunzipLines, readAll } from './client-fixture';
import { anyOf, containing } from '../support/matchers';

let now = new Date('2026-11-20T12:34:56.789Z').getTime();
const clock = () => new Date(now);
const FROM = new Date('2026-11-19T06:00:00Z');
const TO = new Date('2026-11-21T00:00:00Z'); // after now: the export stops at the clock

function key(record: RawAuditRecord, name: string): string {
  const k = Object.keys(record).find((x) => x.toLowerCase() === name.toLowerCase());
  return String(k === undefined ? undefined : record[k]);
}

/** Counts parsed records the way the simulator summarizes what it generated. */
function summarize(lines: string[]): RecordSummary {
  const s: RecordSummary = {
    total: 0,
    byService: {},
    byClient: {},
    byAction: {},
    byStatus: {},
    identicalSameSecondExtras: 0,
    malformedMeta: 0,
  };
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  lines.forEach((line, i) => {
    const r = JSON.parse(line) as RawAuditRecord;
    s.total++;
    bump(s.byService, key(r, 'resourceID'));
    bump(s.byClient, key(r, 'actorID'));
    bump(s.byAction, key(r, 'action'));
    bump(s.byStatus, key(r, 'status'));
    if (i > 0 && lines[i - 1] === line) s.identicalSameSecondExtras++;
    if (typeof r.meta === 'string') {
      try {
        JSON.parse(r.meta);
      } catch {
        s.malformedMeta++;
      }
    }
  });
  return s;
}

function unzipEntries(body: Buffer): Promise<{ name: string; text: string }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(body, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const out: { name: string; text: string }[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error('no entry stream'));
          readAll(stream).then((b) => {
            out.push({ name: entry.fileName, text: b.toString('utf8') });
            zip.readEntry();
          }, reject);
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

describe('DpodClient audit exports', () => {
  let sim: RunningSimulator;
  const expectedLines = () => [...generateRecords(sim.tenant, FROM, TO)].map(renderRecordLine);

  beforeAll(async () => {
    // The job stays ACTIVE for half a second: long enough for the creation's answer on a loaded machine.
    sim = await startSimulator({ now: clock, eventsPerDay: 1500, days: 3, exportDelayMs: 500 });
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.resetStats());

  it('runs the whole export lifecycle down to records equal to what the simulator generated', async () => {
    const { client } = clientFor(sim);
    const created = await client.createExport({ from: FROM, to: TO });
    expect(created).toEqual({
      jobId: anyOf(String),
      state: 'ACTIVE',
      location: null,
      startedAt: clock(),
      endedAt: null,
      // The simulator reports progress by the time elapsed since the job was created (a few ms by the answer).
      progress: expect.any(Number) as number,
    });
    expect(created.progress).toBeLessThan(100);
    const done = await client.waitForExport(created.jobId, { pollIntervalMs: 40 });
    expect(done.state).toBe('SUCCEEDED');
    expect(done.location).toMatch(new RegExp(`^${sim.url}/exports/${created.jobId}/`));
    const body = await readAll(await client.downloadExport(done.location!));
    expect([...body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const lines = gunzipLines(body);
    expect(lines).toEqual(expectedLines());
    const summary = summarizeRecords(sim.tenant, FROM, TO);
    expect(summarize(lines)).toEqual(summary);
    expect(summary.total).toBeGreaterThan(1000);
    expect(summary.identicalSameSecondExtras).toBeGreaterThan(0);
    const stats = sim.statusStats();
    expect(stats['POST /v1/audit-log-exports 201']).toBe(1);
    expect(stats['GET /exports/{jobId}/{file} 200']).toBe(1);
  });

  it('serves the zip-with-JSON-array and plain formats with the same records', async () => {
    for (const format of ['zip-json', 'plain-jsonl'] as const) {
      const other = await startSimulator({ now: clock, eventsPerDay: 1500, days: 3, exportDelayMs: 0, format });
      try {
        const { client } = clientFor(other);
        const job = await client.waitForExport((await client.createExport({ from: FROM, to: TO })).jobId, {
          pollIntervalMs: 10,
        });
        const body = await readAll(await client.downloadExport(job.location!));
        if (format === 'zip-json') {
          expect(body.subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
          const entries = await unzipEntries(body);
          expect(entries.map((e) => e.name)).toEqual(['audit-logs.json']);
          const records = JSON.parse(entries[0]!.text) as RawAuditRecord[];
          expect(records.map(renderRecordLine)).toEqual(expectedLines());
        } else {
          expect(body.toString('utf8').split('\n').filter(Boolean)).toEqual(expectedLines());
        }
      } finally {
        await other.stop();
      }
    }
  });

  it('passes filters to the export', async () => {
    const { client } = clientFor(sim);
    const job = await client.createExport({
      from: FROM,
      to: TO,
      action: 'LUNA_LOGIN',
      status: 'LUNA_RET_UM_PIN_INCORRECT',
    });
    const done = await client.waitForExport(job.jobId, { pollIntervalMs: 40 });
    const lines = gunzipLines(await readAll(await client.downloadExport(done.location!)));
    const wanted = expectedLines().filter(
      (l) => l.includes('"action":"LUNA_LOGIN"') && l.includes('"status":"LUNA_RET_UM_PIN_INCORRECT"'),
    );
    expect(wanted.length).toBeGreaterThan(0);
    expect(lines).toEqual(wanted);
  });

  it('gets a 400 with a message for a window over 31 days or from >= to, without retrying', async () => {
    const { client } = clientFor(sim);
    const tooLong = client.createExport({
      from: new Date('2026-10-01T00:00:00Z'),
      to: new Date('2026-11-01T00:00:01Z'),
    });
    await expect(tooLong).rejects.toBeInstanceOf(DpodRequestError);
    await expect(tooLong).rejects.toMatchObject({
      status: 400,
      call: 'createExport',
      route: 'POST /v1/audit-log-exports',
      retryable: false,
    });
    await expect(tooLong).rejects.toThrow(/exceeds the maximum of 31 days/);
    const reversed = client.createExport({ from: TO, to: FROM });
    await expect(reversed).rejects.toMatchObject({
      status: 400,
      bodyExcerpt: containing("must be before 'to'"),
    });
    await expect(client.createExport({ from: FROM, to: FROM })).rejects.toMatchObject({ status: 400 });
    expect(sim.stats()['POST /v1/audit-log-exports']).toBe(3);
  });

  it('refuses a tampered or expired signed URL with 403', async () => {
    const { client } = clientFor(sim);
    const done = await client.waitForExport((await client.createExport({ from: FROM, to: TO })).jobId, {
      pollIntervalMs: 40,
    });
    const url = new URL(done.location!);
    const sig = url.searchParams.get('X-Sim-Signature')!;
    url.searchParams.set('X-Sim-Signature', `${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`);
    await expect(client.downloadExport(url.toString())).rejects.toMatchObject({
      name: 'DpodRequestError',
      status: 403,
      bodyExcerpt: containing('AccessDenied'),
    });
    const later = new URL(done.location!);
    later.searchParams.set('X-Sim-Expires', String(Number(later.searchParams.get('X-Sim-Expires')) + 3600));
    await expect(client.downloadExport(later.toString())).rejects.toMatchObject({ status: 403 });
    const otherJob = new URL(done.location!.replace(done.jobId, '00000000-0000-4000-8000-000000000000'));
    await expect(client.downloadExport(otherJob.toString())).rejects.toMatchObject({ status: 403 });
    now += 25 * 3_600_000; // the URL is valid 24 hours
    try {
      await expect(client.downloadExport(done.location!)).rejects.toMatchObject({
        status: 403,
        bodyExcerpt: containing('expired'),
      });
    } finally {
      now -= 25 * 3_600_000;
    }
    expect(sim.statusStats()['GET /exports/{jobId}/{file} 403']).toBe(4);
  });

  it('throws a typed error when a job ends FAILED', async () => {
    const { client } = clientFor(sim);
    sim.setFault('POST /v1/audit-log-exports', { exportFailureRate: 1 });
    try {
      const job = await client.createExport({ from: FROM, to: TO });
      const wait = client.waitForExport(job.jobId, { pollIntervalMs: 40 });
      await expect(wait).rejects.toBeInstanceOf(DpodExportError);
      await expect(wait).rejects.toMatchObject({ jobId: job.jobId, state: 'FAILED' });
    } finally {
      sim.setFault('POST /v1/audit-log-exports', null);
    }
  });

  it('gives up waiting after its timeout', async () => {
    const slow = await startSimulator({ now: clock, eventsPerDay: 10, days: 1, exportDelayMs: 60_000 });
    try {
      const { client } = clientFor(slow);
      const job = await client.createExport({ from: FROM, to: TO });
      await expect(client.waitForExport(job.jobId, { pollIntervalMs: 20, timeoutMs: 100 })).rejects.toMatchObject({
        name: 'DpodExportError',
        state: 'ACTIVE',
      });
    } finally {
      await slow.stop();
    }
  });

  it('surfaces a download cut short as a stream error', async () => {
    const { client } = clientFor(sim);
    const done = await client.waitForExport((await client.createExport({ from: FROM, to: TO })).jobId, {
      pollIntervalMs: 40,
    });
    sim.setFault('GET /exports/{jobId}/{file}', { truncateAfterBytes: 5000 });
    try {
      const stream = await client.downloadExport(done.location!);
      await expect(readAll(stream)).rejects.toThrow();
    } finally {
      sim.setFault('GET /exports/{jobId}/{file}', null);
    }
  });
});
