import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ensureChromium } from './support/chromium';
import { startSeededApp, type SeededApp } from './support/seeded-app';

const OUTPUT_DIR = join(__dirname, '..', '..', 'test-output');

let seeded: SeededApp;
let browser: Browser;

beforeAll(async () => {
  const executablePath = ensureChromium();
  seeded = await startSeededApp();
  browser = await chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
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
