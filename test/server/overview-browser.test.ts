import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { OVERVIEW_QUERIES } from '../../src/server/overview/overview-queries';
import { bearer } from './support/bearer';
import { launchChromium } from './support/chromium';
import { dataOf, gql } from './support/http';
import { startSeededApp, type SeededApp } from './support/seeded-app';

const OUTPUT_DIR = join(__dirname, '..', '..', 'test-output');
const HOUR_MS = 3_600_000;

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
});

/** What a page did while the test drove it. */
interface Recorded {
  requests: { url: string; body: string | null; headers: Record<string, string> }[];
  errors: string[];
}

async function openPage(): Promise<{ page: Page; seen: Recorded }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const seen: Recorded = { requests: [], errors: [] };
  page.on('request', (r) => seen.requests.push({ url: r.url(), body: r.postData(), headers: r.headers() }));
  page.on('pageerror', (e) => seen.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(`console: ${m.text()}`);
  });
  return { page, seen };
}

/** Waits until the page has drawn (or refused) the overview of the filter in its URL. */
async function settled(page: Page, state = 'ready'): Promise<void> {
  await page.locator(`body[data-state="${state}"], body[data-state="error"]`).waitFor({ timeout: 30_000 });
  const now = [await page.locator('body').getAttribute('data-state'), await page.locator('#state').textContent()];
  expect(now).toEqual([state, expect.any(String)]);
}

/** The page's filter as the API takes it. */
interface Filter {
  from?: string;
  to?: string;
  serviceIds?: string[];
  clientIds?: string[];
}

interface ApiPicture {
  auditEvents: {
    totalCount: number;
    aggregate: {
      count: number;
      failed: number;
      failureRate: number;
      distinctClients: number;
      distinctServices: number;
      first: string | null;
      last: string | null;
      hourly: { count: number; failed: number }[];
      daily: { count: number; failed: number }[];
      byAction: { key: string; count: number }[];
      byStatus: { key: string; count: number }[];
      byClient: { client: { id: string }; count: number }[];
      byService: { service: { id: string }; count: number }[];
    };
  };
  findings: { totalCount: number; nodes: { id: string }[] };
}

/** The same figures straight from the API, in one query written independently of the page's. */
async function apiPicture(url: string, filter: Filter, headers: Record<string, string> = {}): Promise<ApiPicture> {
  return dataOf(
    await gql<ApiPicture>(
      url,
      `query ($filter: AuditEventFilter, $findings: FindingFilter) {
        auditEvents(filter: $filter) {
          totalCount
          aggregate {
            count failed failureRate distinctClients distinctServices first last
            hourly: timeline(interval: HOUR) { count failed }
            daily: timeline(interval: DAY) { count failed }
            byAction(limit: 10) { key count }
            byStatus(limit: 10) { key count }
            byClient(limit: 10) { client { id } count }
            byService(limit: 10) { service { id } count }
          }
        }
        findings(filter: $findings, first: 20) { totalCount nodes { id } }
      }`,
      { filter, findings: { ...filter, status: 'OPEN' } },
      headers,
    ),
  );
}

/** The `data-` attributes of an element, as the page set them. */
async function dataset(page: Page, selector: string, names: string[]): Promise<Record<string, string | null>> {
  const element = page.locator(selector);
  const values = await Promise.all(names.map((n) => element.getAttribute(`data-${n}`)));
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? null]));
}

/** The numbers the page shows: the KPI values (their text and data-value) and what each panel's chart holds. */
async function shownPicture(page: Page) {
  const kpi = async (id: string) => ({
    text: await page.locator(`#${id}`).textContent(),
    value: Number(await page.locator(`#${id}`).getAttribute('data-value')),
  });
  const bars = (panel: string) => dataset(page, `#panel-${panel}`, ['state', 'sum', 'points']);
  const links: Record<string, string | null> = {};
  for (const panel of Object.keys(OVERVIEW_QUERIES))
    links[panel] = await page.locator(`#panel-${panel} a.graphiql`).getAttribute('href');
  return {
    total: await kpi('total'),
    failed: await kpi('failed'),
    failureRate: await kpi('failure-rate'),
    distinctClients: await kpi('distinct-clients'),
    distinctServices: await kpi('distinct-services'),
    timeline: await dataset(page, '#panel-timeline', ['state', 'sum', 'failed', 'buckets', 'interval']),
    actions: await bars('actions'),
    statuses: await bars('statuses'),
    clients: await bars('clients'),
    services: await bars('services'),
    findings: await dataset(page, '#panel-findings', ['state', 'total', 'rows']),
    findingRows: await page.locator('#panel-findings tbody tr').count(),
    links,
  };
}

const sum = (buckets: { count: number }[]) => buckets.reduce((n, b) => n + b.count, 0);

/** Asserts that every figure the page shows equals the API's for the same filter. */
function expectSamePicture(shown: Awaited<ReturnType<typeof shownPicture>>, api: ApiPicture, interval: string): void {
  const { totalCount, aggregate: a } = api.auditEvents;
  expect(totalCount).toBe(a.count);
  expect(shown.total).toEqual({ text: totalCount.toLocaleString('en'), value: totalCount });
  expect(shown.failed).toEqual({ text: a.failed.toLocaleString('en'), value: a.failed });
  expect(shown.failureRate).toEqual({ text: `${(a.failureRate * 100).toFixed(2)} %`, value: a.failureRate });
  expect(shown.distinctClients.value).toBe(a.distinctClients);
  expect(shown.distinctServices.value).toBe(a.distinctServices);
  const timeline = interval === 'HOUR' ? a.hourly : a.daily;
  expect(shown.timeline).toEqual({
    state: 'ready',
    sum: String(totalCount),
    failed: String(a.failed),
    buckets: String(timeline.length),
    interval,
  });
  expect(sum(timeline)).toBe(totalCount);
  const points = (rows: [string, number][]) => ({
    state: 'ready',
    sum: String(sum(rows.map(([, count]) => ({ count })))),
    points: JSON.stringify(rows),
  });
  expect(shown.actions).toEqual(points(a.byAction.map((b) => [b.key, b.count])));
  expect(shown.statuses).toEqual(points(a.byStatus.map((b) => [b.key, b.count])));
  expect(shown.clients).toEqual(points(a.byClient.map((b) => [b.client.id, b.count])));
  expect(shown.services).toEqual(points(a.byService.map((b) => [b.service.id, b.count])));
  expect(shown.findings).toEqual({
    state: 'ready',
    total: String(api.findings.totalCount),
    rows: String(api.findings.nodes.length),
  });
  expect(shown.findingRows).toBe(api.findings.nodes.length);
}

/** Every request of the page went to the app itself. */
function expectOnlyOwnOrigin(seen: Recorded, url: string): void {
  const origin = new URL(url).origin;
  expect(seen.requests.filter((r) => !r.url.startsWith(`${origin}/`) && !r.url.startsWith('data:'))).toEqual([]);
}

describe('under AUTH_MODE=none', () => {
  let seeded: SeededApp;

  beforeAll(async () => {
    // Five days (DAY buckets over the whole store, HOUR over a day) with the simulator's incidents (findings to list).
    seeded = await startSeededApp({ services: 3, clientsPerService: 4, incidents: true, days: 5 });
  }, 180_000);

  afterAll(async () => {
    await seeded?.stop();
  });

  it("draws the store's overview from the API alone, with figures equal to the API's aggregates", async () => {
    const { page, seen } = await openPage();
    await page.goto(`${seeded.url}/overview`, { waitUntil: 'load' });
    await settled(page);
    const api = await apiPicture(seeded.url, {});
    expect(api.auditEvents.totalCount).toBe(seeded.events);
    expect(api.findings.totalCount).toBeGreaterThan(0);
    const shown = await shownPicture(page);
    expectSamePicture(shown, api, 'DAY');

    // Each panel links to its own query in GraphiQL's ?query= form, the very query the page sent.
    const origin = new URL(seeded.url).origin;
    const sent = seen.requests
      .filter((r) => r.url === `${origin}/graphql` && r.body)
      .map((r) => JSON.parse(r.body!) as unknown);
    expect(sent).toHaveLength(Object.keys(OVERVIEW_QUERIES).length);
    for (const [panel, query] of Object.entries(OVERVIEW_QUERIES)) {
      const link = new URL(shown.links[panel]!, seeded.url);
      expect(link.pathname).toBe('/graphql');
      expect(link.searchParams.get('query')).toBe(query);
      const variables = JSON.parse(link.searchParams.get('variables')!) as unknown;
      expect(sent).toContainEqual({ query, variables });
    }

    // The download links are signed: they need no token, and the CSV holds the events the page counts.
    const href = async (id: string) => new URL((await page.locator(`#${id}`).getAttribute('href'))!, seeded.url);
    const csv = await fetch(await href('download-csv'));
    expect(csv.status).toBe(200);
    const csvText = await csv.text();
    expect(csvText.split('\r\n').filter((l) => l.startsWith('QXVkaXRFdmVud')).length).toBe(shown.total.value);
    const manifest = (await (await fetch(await href('download-manifest'))).json()) as { file: { events: number } };
    expect(manifest.file.events).toBe(shown.total.value);
    expect((await href('download-ndjson')).searchParams.get('link')).toBeTruthy();

    // A hover shows ECharts' tooltip (its inline styles are within the page's CSP).
    await page.locator('#panel-timeline .chart').hover({ position: { x: 500, y: 150 } });
    await page
      .locator('#panel-timeline .chart')
      .getByText('failed', { exact: false })
      .last()
      .waitFor({ timeout: 5_000 });
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, 'overview.png'), fullPage: true });
    expectOnlyOwnOrigin(seen, seeded.url);
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('opens the picture of the filter in the URL, and Apply keeps a new filter in the URL', async () => {
    const all = await apiPicture(seeded.url, {});
    const first = Date.parse(all.auditEvents.aggregate.first!);
    const from = new Date(Math.ceil(first / HOUR_MS) * HOUR_MS + 24 * HOUR_MS).toISOString().replace('.000Z', 'Z');
    const to = new Date(Date.parse(from) + 24 * HOUR_MS).toISOString().replace('.000Z', 'Z');
    const [service] = all.auditEvents.aggregate.byService;
    const filter: Filter = { from, to, serviceIds: [service!.service.id] };

    const { page, seen } = await openPage();
    await page.goto(`${seeded.url}/overview?from=${from}&to=${to}&services=${service!.service.id}`, {
      waitUntil: 'load',
    });
    await settled(page);
    const api = await apiPicture(seeded.url, filter);
    expect(api.auditEvents.totalCount).toBeGreaterThan(0);
    expect(api.auditEvents.totalCount).toBeLessThan(all.auditEvents.totalCount);
    expectSamePicture(await shownPicture(page), api, 'HOUR');
    expect(await page.inputValue('input[name=from]')).toBe(from);
    expect(await page.inputValue('input[name=services]')).toBe(service!.service.id);

    // Narrowed to one client with the filter bar: the URL says so, and the figures follow.
    const client = api.auditEvents.aggregate.byClient[0]!.client.id;
    await page.fill('input[name=clients]', ` ${client} `);
    await page.click('#filters button[type=submit]');
    await page.waitForURL((u) => u.searchParams.get('clients') === client);
    await settled(page);
    expect(new URL(page.url()).searchParams.get('services')).toBe(service!.service.id);
    const narrowed = await apiPicture(seeded.url, { ...filter, clientIds: [client] });
    expect(narrowed.auditEvents.totalCount).toBeLessThan(api.auditEvents.totalCount);
    expectSamePicture(await shownPicture(page), narrowed, 'HOUR');

    // Back in the history: the previous filter and its picture.
    await page.goBack();
    await page.waitForURL((u) => !u.searchParams.has('clients'));
    await settled(page);
    expectSamePicture(await shownPicture(page), api, 'HOUR');

    // A time that is not RFC 3339 is refused with a message, and nothing is asked of the API.
    const before = seen.requests.length;
    await page.fill('input[name=from]', 'yesterday');
    await page.click('#filters button[type=submit]');
    await settled(page, 'error');
    const state = await page.locator('#state').textContent();
    expect(state).toContain('from must be an RFC 3339 time');
    expect(seen.requests.slice(before).filter((r) => r.url.endsWith('/graphql'))).toEqual([]);

    expectOnlyOwnOrigin(seen, seeded.url);
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 90_000);
});

describe('under AUTH_MODE=jwt', () => {
  const idp = {
    secret: 'overview-test-secret-long-enough-for-hs256',
    issuer: 'https://idp.overview.test/',
    audience: 'dpod-audit-gateway',
    subject: 'overview-test',
  };
  let seeded: SeededApp;

  beforeAll(async () => {
    seeded = await startSeededApp({
      env: { AUTH_MODE: 'jwt', JWT_SECRET: idp.secret, JWT_ISSUER: idp.issuer, JWT_AUDIENCE: idp.audience },
    });
  }, 180_000);

  afterAll(async () => {
    await seeded?.stop();
  });

  it('asks for a token before anything, then loads the overview with the token typed in', async () => {
    const { page, seen } = await openPage();
    await page.goto(`${seeded.url}/overview`, { waitUntil: 'load' });
    await settled(page, 'token-needed');
    expect(await page.locator('#state').textContent()).toMatch(/^Token needed: .*audit:read/);
    expect(await page.locator('main').isVisible()).toBe(false);
    expect(seen.requests.filter((r) => r.url.endsWith('/graphql'))).toEqual([]);

    // A token the server refuses: said so, and the token field stays.
    await page.fill('input[name=token]', 'not-a-jwt');
    await page.click('#token button[type=submit]');
    await settled(page, 'token-needed');
    expect(await page.locator('#state').textContent()).toMatch(/^Token rejected \(UNAUTHENTICATED\)/);
    // The browser logs the 401 of the refused request itself; nothing else may be logged.
    seen.errors = seen.errors.filter((e) => !/status of 401/.test(e));

    const headers = await bearer(idp, { scope: 'audit:read' });
    await page.fill('input[name=token]', headers.authorization!.replace('Bearer ', ''));
    await page.click('#token button[type=submit]');
    await settled(page);
    expectSamePicture(await shownPicture(page), await apiPicture(seeded.url, {}, headers), 'HOUR');
    const sentWithToken = seen.requests.filter(
      (r) => r.url.endsWith('/graphql') && r.headers['authorization'] === headers.authorization,
    );
    expect(sentWithToken).toHaveLength(Object.keys(OVERVIEW_QUERIES).length);
    // The token is kept for this tab only, never in the URL or localStorage.
    const storage = await page.evaluate('({ session: sessionStorage.length, local: localStorage.length })');
    expect(page.url()).toBe(`${seeded.url}/overview`);
    expect(storage).toEqual({ session: 1, local: 0 });

    // Forgotten: the page asks again.
    await page.click('#forget-token');
    await settled(page, 'token-needed');

    expectOnlyOwnOrigin(seen, seeded.url);
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 90_000);
});
