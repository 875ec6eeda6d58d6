import type { Config } from '../config';
import { DpodClient, type DpodClientOptions } from './dpod-client';
import { DpodError } from './errors';
import type { DpodCallRecord } from './types';

/** Hooks and overrides for {@link createDpodClient}. */
export type DpodClientHooks = Partial<DpodClientOptions> & { onCall?: (call: DpodCallRecord) => void };

/** Builds a {@link DpodClient} from the app config (`config.dpod.*`); `hooks` may add `onCall` and override any option. */
export function createDpodClient(config: Config, hooks: DpodClientHooks = {}): DpodClient {
  const apiUrl = hooks.apiUrl ?? config.dpod.apiUrl;
  const tokenUrl = hooks.tokenUrl ?? config.dpod.tokenUrl;
  const clientId = hooks.clientId ?? config.dpod.clientId;
  const clientSecret = hooks.clientSecret ?? config.dpod.clientSecret;
  const missing = [
    ['DPOD_API_URL', apiUrl],
    ['DPOD_TOKEN_URL', tokenUrl],
    ['DPOD_CLIENT_ID', clientId],
    ['DPOD_CLIENT_SECRET', clientSecret],
  ]
    .filter(([, v]) => !v)
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new DpodError(`missing configuration: ${missing.join(', ')} (set them, or run against the simulator)`, {
      call: 'createDpodClient',
      route: '-',
      status: null,
      retryable: false,
    });
  }
  return new DpodClient({
    ...hooks,
    apiUrl: apiUrl!,
    tokenUrl: tokenUrl!,
    clientId: clientId!,
    clientSecret: clientSecret!,
  });
}
