import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { launchChromium } from './support/chromium';
import { dataOf, gql } from './support/http';
import { eventually } from './support/live-clients';
import { startSeededApp, type SeededApp } from './support/seeded-app';

const OUTPUT_DIR = join(__dirname, '..', '..', 'test-output');

let seeded: SeededApp;
let browser: Browser;

beforeAll(async () => {
  seeded = await startSeededApp();
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await seeded?.stop();
});

it('loads GraphiQL with no request to another host, runs the example query and shows its results', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests: { url: string; body: string | null }[] = [];
  page.on('request', (r) => requests.push({ url: r.url(), body: r.postData() }));
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await page.goto(`${seeded.url}/graphql`, { waitUntil: 'load' });
  await page.locator('.graphiql-execute-button').waitFor({ timeout: 20_000 });
  // The first tab is the deep traversal example; the examples are tabs named after their operations.
  await page.locator('.graphiql-tab', { hasText: 'WhoUsedThisKey' }).waitFor({ timeout: 10_000 });
  await page.locator('.graphiql-tab', { hasText: 'ServicesClientsActions' }).click();
  await page.locator('.graphiql-execute-button').click();
  const result = page.locator('.result-window');
  await result.getByText('"totalCount"').first().waitFor({ timeout: 20_000 });
  const text = await result.innerText();
  const luna = seeded.sim.tenant.listedServices().filter((s) => s.hasAuditData);
  expect(text).toContain('"services"');
  expect(text).toContain(luna[0]!.id);
  expect(text).not.toContain('"errors"');

  // The docs explorer opens on the schema (introspection went through).
  await page.getByLabel('Show Documentation Explorer').click();
  await page
    .locator('.graphiql-doc-explorer')
    .getByText('Query', { exact: false })
    .first()
    .waitFor({ timeout: 10_000 });

  await mkdir(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: join(OUTPUT_DIR, 'graphiql.png'), fullPage: true });

  const origin = new URL(seeded.url).origin;
  const foreign = requests.filter((r) => !r.url.startsWith(`${origin}/`) && !r.url.startsWith('data:'));
  expect(foreign).toEqual([]);
  const graphqlBodies = requests.filter((r) => r.url === `${origin}/graphql` && r.body).map((r) => r.body!);
  expect(graphqlBodies.some((b) => b.includes('IntrospectionQuery'))).toBe(true);
  expect(graphqlBodies.some((b) => b.includes('ServicesClientsActions'))).toBe(true);
  expect(pageErrors).toEqual([]);
  await page.close();
}, 60_000);

/** The text of a GraphiQL editor: CodeMirror 5 keeps its instance on its element. */
async function editorText(page: Page, editor: string): Promise<string> {
  return page
    .locator(`${editor} .CodeMirror`)
    .first()
    .evaluate((el) => (el as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
}

/** A new page that records its requests and page errors. */
async function watchedPage(): Promise<{ page: Page; urls: string[]; pageErrors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return { page, urls, pageErrors };
}

/** The requests that went to another host than the app's. */
function foreignOf(urls: string[]): string[] {
  const origin = new URL(seeded.url).origin;
  return urls.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
}

it('builds a query in the Explorer by ticking fields, runs it and shows its data, all from the server itself', async () => {
  const { page, urls, pageErrors } = await watchedPage();
  await page.goto(`${seeded.url}/graphql`, { waitUntil: 'load' });
  await page.locator('.graphiql-execute-button').waitFor({ timeout: 20_000 });
  // The Explorer edits the active tab's query: a new tab starts it from GraphiQL's empty default.
  await page.getByRole('button', { name: 'Add tab' }).click();
  await page.getByLabel('Show GraphiQL Explorer').click();
  const explorer = page.locator('.graphiql-explorer-root');
  await explorer.locator('[data-field-name="auditEvents"]').waitFor({ timeout: 10_000 });
  const nodes = await explorer.locator('[data-field-name]').all();
  const fields = await Promise.all(nodes.map((node) => node.getAttribute('data-field-name')));
  expect(fields).toEqual(expect.arrayContaining(['auditEvents', 'services', 'findings', 'client', 'service']));

  // Each click adds the field under the one opened before it (only `services` and then its `nodes` are open).
  await explorer.locator('[data-field-name="services"]').click();
  await explorer.locator('[data-field-name="nodes"]').click();
  await explorer.locator('[data-field-name="name"]').click();
  await explorer.locator('[data-field-name="totalCount"]').click();
  const query = 'query MyQuery {\n  services {\n    nodes {\n      name\n    }\n    totalCount\n  }\n}';
  expect(await editorText(page, '.graphiql-query-editor')).toBe(query);

  // The link to the overview sits in GraphiQL's logo slot, right of the tab list and clear of it.
  const overview = page.getByRole('link', { name: 'Overview' });
  expect(await overview.getAttribute('href')).toBe('/overview');
  const link = (await overview.boundingBox())!;
  const tabs = (await page.locator('.graphiql-tabs').boundingBox())!;
  expect(link.x).toBeGreaterThanOrEqual(tabs.x + tabs.width);
  // A trial click checks that nothing covers the link (Playwright's hit-target check) without following it.
  await overview.click({ trial: true, timeout: 2_000 });

  await mkdir(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: join(OUTPUT_DIR, 'graphiql-explorer.png'), fullPage: true });
  await page.locator('.graphiql-execute-button').click();
  await page.locator('.result-window').getByText('"totalCount"').first().waitFor({ timeout: 20_000 });
  const expected = (await gql(seeded.url, query)).body;
  expect(expected.errors).toBeUndefined();
  expect(JSON.parse(await editorText(page, '.result-window'))).toEqual(expected);

  expect(foreignOf(urls)).toEqual([]);
  expect(pageErrors).toEqual([]);
  await page.close();
}, 60_000);

it('opens a /graphql?query= link with its query and variables as the active tab, on a first visit and a later one', async () => {
  const { page, urls, pageErrors } = await watchedPage();
  const linkTo = (query: string, variables: string) =>
    `${seeded.url}/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(variables)}`;
  const openTab = async () => ({
    tabs: await page.locator('.graphiql-tab').allInnerTexts(),
    active: await page.locator('.graphiql-tab-active').innerText(),
    query: await editorText(page, '.graphiql-query-editor'),
    variables: await editorText(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)'),
  });

  // A first visit (nothing in localStorage): the link's tab comes first, before the example tabs.
  const first =
    'query LinkedServices($first: Int) {\n  services(first: $first) {\n    nodes {\n      id\n    }\n  }\n}';
  await page.goto(linkTo(first, '{ "first": 1 }'), { waitUntil: 'load' });
  await page.locator('.graphiql-tab', { hasText: 'WhoUsedThisKey' }).waitFor({ timeout: 20_000 });
  const opened = await openTab();
  expect(opened).toEqual({
    tabs: expect.arrayContaining(['LinkedServices', 'WhoUsedThisKey', 'LiveEvents']) as string[],
    active: 'LinkedServices',
    query: first,
    variables: '{ "first": 1 }',
  });
  expect(opened.tabs[0]).toBe('LinkedServices');
  await page.locator('.graphiql-execute-button').click();
  await page.locator('.result-window').getByText('"nodes"').first().waitFor({ timeout: 20_000 });
  const expected = (await gql(seeded.url, first, { first: 1 })).body;
  expect(expected).toEqual({ data: { services: { nodes: [{ id: expect.any(String) as string }] } } });
  expect(JSON.parse(await editorText(page, '.result-window'))).toEqual(expected);

  // GraphiQL keeps its tabs in localStorage half a second after they last changed.
  await page.waitForFunction(() => localStorage.getItem('graphiql:tabState') !== null);
  // A later visit: GraphiQL restores the tabs it kept and opens another link's query as a new, active tab...
  const second = 'query LinkedActions {\n  lunaActions {\n    code\n  }\n}';
  await page.goto(linkTo(second, ''), { waitUntil: 'load' });
  await page.locator('.graphiql-tab', { hasText: 'LinkedActions' }).waitFor({ timeout: 20_000 });
  const later = await openTab();
  expect(later).toEqual({
    tabs: [...opened.tabs, 'LinkedActions'],
    active: 'LinkedActions',
    query: second,
    variables: '',
  });

  // ...and the first link again picks its tab rather than adding a copy.
  await page.waitForFunction(() => localStorage.getItem('graphiql:tabState')?.includes('LinkedActions'));
  await page.goto(linkTo(first, '{ "first": 1 }'), { waitUntil: 'load' });
  await page.locator('.graphiql-tab', { hasText: 'LinkedActions' }).waitFor({ timeout: 20_000 });
  expect(await openTab()).toEqual({ ...later, active: 'LinkedServices', query: first, variables: '{ "first": 1 }' });

  expect(foreignOf(urls)).toEqual([]);
  expect(pageErrors).toEqual([]);
  await page.close();
}, 60_000);

async function liveSubscriptions(): Promise<number> {
  const text = await (await fetch(`${seeded.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('dpod_audit_live_subscriptions '));
  return line ? Number(line.split(' ')[1]) : NaN;
}

it('runs the live events tab as an event stream with the typed headers, shows an event stored meanwhile, and stops it', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests: { url: string; headers: Record<string, string> }[] = [];
  page.on('request', (r) => requests.push({ url: r.url(), headers: r.headers() }));
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await page.goto(`${seeded.url}/graphql`, { waitUntil: 'load' });
  await page.locator('.graphiql-tab', { hasText: 'LiveEvents' }).click();
  // The token an analyst types in the Headers tab (AUTH_MODE=none here ignores it; it must still be sent).
  await page.locator('.graphiql-editor-tools').getByRole('button', { name: 'Headers' }).click();
  await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText('{ "Authorization": "Bearer graphiql-live-test" }');
  await page.locator('.graphiql-execute-button').click();
  await eventually(async () => (await liveSubscriptions()) === 1, 20_000, 'the subscription to open');

  // A failed login of a listed service's client, stored while the tab listens.
  const luna = seeded.sim.tenant.listedServices().filter((s) => s.hasAuditData);
  const [service, client] = [luna[0]!.id, luna[0]!.clients[0]!.id];
  const time = new Date(seeded.sim.tenant.now().getTime() + 3_600_000);
  const dir = await mkdtemp(join(tmpdir(), 'dpod-graphiql-live-'));
  const file = writeText(
    join(dir, 'live.jsonl'),
    jsonLines([
      record({
        time: time.toISOString().replace('T', ' ').replace('Z', ' UTC'),
        resourceID: service,
        actorID: client,
        action: 'LUNA_LOGIN',
        status: 'LUNA_RET_UM_PIN_INCORRECT',
        traceID: 'graphiql-live-event',
      }),
    ]),
  );
  await importFiles({ db: seeded.db.db, pool: seeded.db.pool }, [file], { progressBar: false });
  await rm(dir, { recursive: true, force: true });
  const stored = dataOf(
    await gql<{ auditEvents: { nodes: { id: string }[] } }>(
      seeded.url,
      'query ($from: DateTime!) { auditEvents(filter: { from: $from }) { nodes { id } } }',
      { from: time.toISOString() },
    ),
  ).auditEvents.nodes;
  expect(stored).toHaveLength(1);

  const result = page.locator('.result-window');
  await result.getByText(stored[0]!.id).first().waitFor({ timeout: 20_000 });
  // The result editor shows the payload as GraphiQL formats it (two-space JSON, folding gutter aside).
  const shown = (await result.innerText()).replace(/\s+/g, ' ');
  const expected = {
    data: {
      auditEventsAdded: {
        id: stored[0]!.id,
        time: time.toISOString(),
        action: 'LUNA_LOGIN',
        status: 'LUNA_RET_UM_PIN_INCORRECT',
        service: { id: service },
        client: { id: client },
      },
    },
  };
  expect(shown).toContain(JSON.stringify(expected, null, 2).replace(/\s+/g, ' ').slice(1, -1).trim());
  expect(shown).not.toContain('"errors"');

  // The execute button is a stop button while the subscription runs: the request ends, so does the subscription.
  await page.locator('.graphiql-execute-button').click();
  await eventually(async () => (await liveSubscriptions()) === 0, 20_000, 'the subscription to end');

  const origin = new URL(seeded.url).origin;
  expect(requests.filter((r) => !r.url.startsWith(`${origin}/`) && !r.url.startsWith('data:'))).toEqual([]);
  const streams = requests.filter((r) => r.url === `${origin}/graphql` && r.headers['accept'] === 'text/event-stream');
  expect(streams.map((r) => r.headers['authorization'])).toEqual(['Bearer graphiql-live-test']);
  expect(pageErrors).toEqual([]);
  await page.close();
}, 90_000);
