import cliProgress from 'cli-progress';
import type { Logger } from 'pino';

/** A snapshot of a run's progress. */
export interface IngestProgress {
  runId: string;
  source: string;
  bytes: number;
  totalBytes: number | null;
  records: number;
  inserted: number;
  duplicates: number;
  rejected: number;
}

/** Receives progress while a run goes. */
export interface ProgressReporter {
  update(p: IngestProgress): void;
  stop(): void;
}

function mb(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}

/**
 * A progress bar on a TTY (bytes or records, rate, ETA); otherwise a JSON log line every `intervalMs`.
 * `tty` defaults to whether stderr is a terminal.
 */
export function createProgressReporter(
  logger: Logger | undefined,
  options: { tty?: boolean; intervalMs?: number } = {},
): ProgressReporter {
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const started = Date.now();
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format:
          '{source} |{bar}| {percentage}% {mbDone}/{mbTotal} MB | {records} records, {rate}/s | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    let begun = false;
    return {
      update(p) {
        const seconds = Math.max(0.001, (Date.now() - started) / 1000);
        const total = p.totalBytes ?? Math.max(p.bytes, 1);
        const payload = {
          source: p.source.slice(-40),
          records: p.records,
          rate: Math.round(p.records / seconds),
          mbDone: mb(p.bytes),
          mbTotal: p.totalBytes ? mb(p.totalBytes) : '?',
        };
        if (!begun) {
          bar.start(total, p.bytes, payload);
          begun = true;
        } else {
          bar.setTotal(total);
          bar.update(p.bytes, payload);
        }
      },
      stop() {
        if (begun) bar.stop();
      },
    };
  }
  const interval = options.intervalMs ?? 5000;
  let last = 0;
  return {
    update(p) {
      const now = Date.now();
      if (!logger || now - last < interval) return;
      last = now;
      const seconds = (now - started) / 1000;
      const rate = p.records / Math.max(0.001, seconds);
      const fraction = p.totalBytes ? p.bytes / p.totalBytes : null;
      const etaSeconds = fraction && fraction > 0 ? Math.round((seconds / fraction) * (1 - fraction)) : null;
      logger.info(
        {
          ...p,
          ratePerSecond: Math.round(rate),
          percent: fraction === null ? null : Math.round(fraction * 1000) / 10,
          etaSeconds,
        },
        'ingest progress',
      );
    },
    stop() {},
  };
}
