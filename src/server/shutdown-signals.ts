import type { Logger } from '../logger';

/**
 * Resolves once SIGTERM or SIGINT arrived and `stop()` finished (graceful shutdown).
 * A second signal while stopping exits at once with code 1.
 */
export function stopOnSignal(stop: () => Promise<void>, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down: draining requests, finishing the ingest batch, closing the pool');
      stop().then(
        () => {
          logger.info('stopped cleanly');
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve();
        },
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
