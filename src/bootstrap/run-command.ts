import type { Logger } from '../logger';
import { stopOnSignal } from './shutdown-signals';
import { createShutdownStack, type ShutdownStack } from './shutdown-stack';

/** What a command body gets from {@link runCommand}. */
export interface CommandScope {
  /** Where the body adds what must stop; everything stops in reverse order when the command ends. */
  stack: ShutdownStack;
  /** Resolves with the first SIGTERM/SIGINT: a long-running command awaits it, then returns. */
  signalled: Promise<NodeJS.Signals>;
}

/** The command was stopped by a signal before its work was done. */
export class InterruptedError extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal} before the work was done; what was committed is kept, rerun to go on`);
    this.name = 'InterruptedError';
  }
}

/**
 * The one signal path of every command (serve, demo, ingest, import, migrate, retention): a signal stops the
 * scope's stack (the server drains, the follower finishes its batch, pools close, the embedded PostgreSQL stops
 * last); a body that returns on its own is stopped the same way. A one-shot body cut short by a signal rejects
 * with {@link InterruptedError}.
 */
export async function runCommand<T>(logger: Logger, body: (scope: CommandScope) => Promise<T>): Promise<T> {
  const stack = createShutdownStack(logger);
  const signals = stopOnSignal(() => stack.stop(), logger);
  let interrupted: NodeJS.Signals | null = null;
  void signals.signalled.then((signal) => (interrupted = signal));
  try {
    const result = await body({ stack, signalled: signals.signalled });
    await stack.stop();
    return result;
  } catch (err) {
    await stack.stop();
    if (interrupted) throw new InterruptedError(interrupted);
    throw err;
  } finally {
    if (interrupted) await signals.done;
    signals.dispose();
  }
}
