import { loadConfig } from '../../src/config';
import { createDpodClient, DpodError } from '../../src/dpod';
import { startSimulator } from '../../src/simulator';

describe('createDpodClient', () => {
  it('builds a working client from the app config', async () => {
    const sim = await startSimulator({ eventsPerDay: 10 });
    try {
      const config = loadConfig({
        DPOD_API_URL: sim.url,
        DPOD_TOKEN_URL: sim.tokenUrl,
        DPOD_CLIENT_ID: sim.clientId,
        DPOD_CLIENT_SECRET: sim.clientSecret,
      });
      const calls: string[] = [];
      const client = createDpodClient(config, { onCall: (c) => calls.push(`${c.route} ${c.status}`) });
      expect((await client.listServices()).map((s) => s.id)).toEqual(sim.tenant.listedServices().map((s) => s.id));
      expect(calls).toEqual(['POST /oauth/token 200', 'GET /v1/service_instances 200']);
    } finally {
      await sim.stop();
    }
  });

  it('names the missing settings when DPoD is not configured', () => {
    expect(() => createDpodClient(loadConfig({}))).toThrow(DpodError);
    expect(() => createDpodClient(loadConfig({}))).toThrow(
      /DPOD_API_URL, DPOD_TOKEN_URL, DPOD_CLIENT_ID, DPOD_CLIENT_SECRET/,
    );
  });
});
