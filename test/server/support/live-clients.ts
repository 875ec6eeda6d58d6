import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

/** What one subscription received: results (data or errors) and how it ended. */
export interface Received<T> {
  items: T[];
  errors: { message: string; extensions?: Record<string, unknown> }[];
  done: boolean;
  /** Ends the subscription (client side). */
  stop(): void;
}

function collector<T>(): Received<T> & { sink: Parameters<ReturnType<typeof createWsClient>['subscribe']>[1] } {
  const r: Received<T> & { sink: Parameters<ReturnType<typeof createWsClient>['subscribe']>[1] } = {
    items: [],
    errors: [],
    done: false,
    stop: () => undefined,
    sink: {
      next: (value) => {
        if (value.errors) r.errors.push(...(value.errors as Received<T>['errors']));
        if (value.data) r.items.push(...(Object.values(value.data) as T[]));
      },
      error: (err) => {
        r.done = true;
        const list = Array.isArray(err) ? err : [err];
        for (const e of list)
          r.errors.push({ message: String((e as Error).message ?? (e as { reason?: string }).reason ?? e) });
      },
      complete: () => {
        r.done = true;
      },
    },
  };
  return r;
}

/** Subscribes over graphql-ws (WebSocket) with an optional Authorization header value sent at connection init. */
export function subscribeWs<T>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown>,
  authorization?: string,
): Received<T> & { dispose(): Promise<void> } {
  const client = createWsClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
    lazy: false,
    // The sink hears a refused connection; graphql-ws would also print it.
    onNonLazyError: () => undefined,
  });
  const r = collector<T>();
  r.stop = client.subscribe({ query, variables }, r.sink);
  return Object.assign(r, { dispose: () => client.dispose() as Promise<void> });
}

/** Subscribes over graphql-sse (distinct connections mode). */
export function subscribeSse<T>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown>,
  authorization?: string,
): Received<T> & { dispose(): Promise<void> } {
  const client = createSseClient({
    url: `${baseUrl}/graphql`,
    headers: authorization ? { authorization } : {},
    retryAttempts: 0,
  });
  const r = collector<T>();
  r.stop = client.subscribe({ query, variables }, r.sink);
  return Object.assign(r, { dispose: () => Promise.resolve(client.dispose()) });
}

/** Polls `test` until it holds or `ms` passes. */
export async function eventually(
  test: () => boolean | Promise<boolean>,
  ms = 20_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
