import { chromium, type Browser } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Returns the path of a headless-capable Chromium, installing Debian's `chromium` with apt-get when it is missing.
 * Throws with what to do when it cannot be installed: the browser test never skips silently.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  process.stderr.write(
    `[test] ${CHROMIUM_PATH} is missing: installing Debian's chromium with apt-get (about a minute)...\n`,
  );
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
  } catch (err) {
    throw new Error(
      `Chromium is needed for the GraphiQL browser test and could not be installed (${err instanceof Error ? err.message : String(err)}). ` +
        'Install it with "apt-get install -y chromium" or set CHROMIUM_PATH to a Chromium binary.',
      { cause: err },
    );
  }
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} does not exist; set CHROMIUM_PATH.`);
  return CHROMIUM_PATH;
}

/** Launches Debian's Chromium headless (installing it when missing), with the flags the browser tests share. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
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
}
