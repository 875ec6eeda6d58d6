import type { DpodClient } from '../dpod';
import type { Logger } from '../logger';

/** Which clients DPoD lists as bound to each service, as read at one moment (UNBOUND_CLIENT_ACTIVITY's input). */
export interface ClientDirectory {
  /** When the read began. */
  readAt: Date;
  /** The bound client ids of each service DPoD lists with at least one binding; other services are not judged. */
  bound: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Reads the directory; called before a pass, outside its transaction. */
export type ClientDirectorySource = () => Promise<ClientDirectory>;

/** The part of the DPoD client the directory reads. */
type BindingsApi = Pick<DpodClient, 'listServices' | 'listBindings'>;

/**
 * The directory from DPoD's platform API: every listed service and its bindings (each walked to its last page).
 * A service listed and then unknown to its bindings route, or no service at all, is an inconsistent answer: the read
 * fails. A service with no binding is left out (an empty answer is likelier a fault than every client unbound).
 */
export function dpodClientDirectory(dpod: BindingsApi, now: () => Date = () => new Date()): ClientDirectorySource {
  return async () => {
    const readAt = now();
    const services = await dpod.listServices();
    if (services.length === 0) throw new Error('DPoD listed no service');
    const bound = new Map<string, ReadonlySet<string>>();
    for (const service of services) {
      const bindings = await dpod.listBindings(service.id);
      if (bindings === null) throw new Error(`DPoD listed service ${service.id} but does not know its bindings`);
      if (bindings.length > 0) bound.set(service.id, new Set(bindings.map((b) => b.clientId)));
    }
    return { readAt, bound };
  };
}

/** Reads the directory for a pass: null, with a warning, when DPoD fails or answers inconsistently. */
export async function readClientDirectory(
  source: ClientDirectorySource,
  logger?: Logger,
): Promise<ClientDirectory | null> {
  try {
    const directory = await source();
    if (Number.isNaN(directory.readAt.getTime())) throw new Error('the directory has no read time');
    if (directory.bound.size === 0) throw new Error('DPoD listed no service with a bound client');
    return directory;
  } catch (err) {
    logger?.warn(
      { err, rule: 'UNBOUND_CLIENT_ACTIVITY' },
      "DPoD's bindings could not be read; UNBOUND_CLIENT_ACTIVITY is skipped for this pass",
    );
    return null;
  }
}
