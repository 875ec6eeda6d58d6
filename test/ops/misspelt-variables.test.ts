import { freePort } from '../../src/db/embedded';
import { runCli } from '../support/cli';

// serve --ingest reads the configuration twice (the DPoD pre-check, then the command): one warning each all the same.
describe('a misspelt variable', () => {
  const dpod = {
    DPOD_API_URL: 'http://127.0.0.1:9',
    DPOD_TOKEN_URL: 'http://127.0.0.1:9/oauth/token',
    DPOD_CLIENT_ID: 'c',
    DPOD_CLIENT_SECRET: 's',
  };

  it('is named once on stderr with the closest known name, and does not stop the command', async () => {
    const port = await freePort();
    const result = await runCli(['serve', '--ingest', '--port', '0'], {
      ...dpod,
      RETENTION_DAY: '30',
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/x`,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr:
        'warning: RETENTION_DAY is set but not read by this program; ignored (did you mean RETENTION_DAYS?)\n' +
        `error: cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connection refused — is the server running and the URL right?\n`,
    });
  });

  it('is not reported when LOG_LEVEL silences warnings', async () => {
    const result = await runCli(['serve', '--ingest', '--port', '0'], {
      ...dpod,
      RETENTION_DAY: '30',
      LOG_LEVEL: 'error',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x',
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr:
        'error: cannot reach PostgreSQL at 127.0.0.1:1 (DATABASE_URL): connection refused — is the server running and the URL right?\n',
    });
  });
});
