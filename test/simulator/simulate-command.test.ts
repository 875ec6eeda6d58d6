import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createTenant } from '../../src/simulator';

const CLI = path.join(__dirname, '../../dist/src/cli.js');

function waitForBanner(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no banner; output so far:\n${out}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('__sim/stats')) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
}

describe('dpod-audit simulate', () => {
  it('serves a seeded tenant a person can curl, with the credentials from the environment, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [CLI, 'simulate', '--port', '0', '--seed', '7', '--services', '2', '--events-per-day', '100'],
      {
        env: { ...process.env, DPOD_CLIENT_ID: 'ops-client', DPOD_CLIENT_SECRET: 'ops-secret' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const banner = await waitForBanner(child);
      const url = /listening on (http:\/\/\S+)/.exec(banner)![1]!;
      expect(banner).toContain('client_id=ops-client');
      expect(banner).not.toContain('ops-secret');
      expect(banner).toContain(`curl -s ${url}/oauth/token -d grant_type=client_credentials`);
      const tokenRes = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'ops-client',
          client_secret: 'ops-secret',
        }),
      });
      expect(tokenRes.status).toBe(200);
      const { access_token } = (await tokenRes.json()) as { access_token: string };
      const list = await fetch(`${url}/v1/service_instances?page=0&size=50`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      const body = (await list.json()) as { content: { service_id: string }[] };
      expect(body.content.map((s) => s.service_id)).toEqual(
        createTenant({ seed: 7, services: 2 })
          .listedServices()
          .map((s) => s.id),
      );
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });

  it('rejects a bad option with exit code 2 and a message', () => {
    const run = spawnSync(process.execPath, [CLI, 'simulate', '--error-rate', '3'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--error-rate.*must be a fraction between 0 and 1/);
  });
});
