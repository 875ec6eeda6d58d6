import type { Logger } from '../logger';

/** Steps of one shutdown, run last-added first: what was opened last closes first. */
export interface ShutdownStack {
  /** Adds a step; one added after the stop began runs once the others have. */
  add(name: string, step: () => Promise<unknown>): void;
  /** Runs every step once, in reverse order; a failing step is logged and the others still run. */
  stop(): Promise<void>;
}

/** Creates an empty {@link ShutdownStack}. */
export function createShutdownStack(logger: Logger): ShutdownStack {
  const steps: { name: string; step: () => Promise<unknown> }[] = [];
  let stopping: Promise<void> | null = null;
  const run = async (name: string, step: () => Promise<unknown>): Promise<void> => {
    try {
      await step();
    } catch (err) {
      logger.error({ err }, `shutdown: ${name} failed`);
    }
  };
  return {
    add(name, step) {
      if (stopping) stopping = stopping.then(() => run(name, step));
      else steps.push({ name, step });
    },
    stop() {
      stopping ??= (async () => {
        for (const { name, step } of steps.reverse()) await run(name, step);
      })();
      return stopping;
    },
  };
}
