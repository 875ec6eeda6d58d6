import cliProgress from 'cli-progress';
import type { Logger } from '../../logger';

/** Progress of the demo's backfill, one step per day window. */
export interface DemoProgress {
  step(done: number, events: number): void;
  stop(): void;
}

/** A progress bar on a TTY (stderr), otherwise one log line per window. */
export function createDemoProgress(
  totalDays: number,
  logger: Logger,
  tty = Boolean(process.stderr.isTTY),
): DemoProgress {
  if (!tty) {
    return {
      step: (done, events) => logger.info({ days: `${done}/${totalDays}`, events }, 'ingesting simulator audit data'),
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'Ingesting audit data |{bar}| {value}/{total} days | {events} events',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalDays, 0, { events: 0 });
  return {
    step: (done, events) => bar.update(done, { events: events.toLocaleString('en') }),
    stop: () => bar.stop(),
  };
}
