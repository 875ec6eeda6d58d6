import type pg from 'pg';
import type { Config } from '../config';
import type { DetectHooks, DetectOutcome } from '../detect';
import type { Logger } from '../logger';
import { startWebhookDeliverer, type DeliveryOutcome, type WebhookDeliverer } from './webhook-deliverer';
import { webhookOutboxHooks } from './webhook-outbox';

/** The webhooks of a process that runs the follower: what the follower needs to feed them, and their stop. */
export interface FollowerWebhooks {
  /** Follower options: enqueue in each detection pass, wake the deliverer after it. */
  readonly follower: { detectHooks: DetectHooks; onDetected: (outcome: DetectOutcome) => void };
  readonly deliverer: WebhookDeliverer;
  stop(): Promise<void>;
}

/**
 * Starts the deliverer of `config.webhooks` on `pool` and returns the follower options that feed it; null without
 * `WEBHOOK_URLS`.
 */
export function startFollowerWebhooks(
  pool: pg.Pool,
  webhooks: Config['webhooks'],
  options: { logger?: Logger; onOutcome?: (outcome: DeliveryOutcome) => void } = {},
): FollowerWebhooks | null {
  if (webhooks.targets.length === 0 || !webhooks.secret) return null;
  const deliverer = startWebhookDeliverer(pool, {
    targets: webhooks.targets,
    secret: webhooks.secret,
    maxAttempts: webhooks.maxAttempts,
    timeoutMs: webhooks.timeoutMs,
    logger: options.logger,
    onOutcome: options.onOutcome,
  });
  return {
    follower: {
      detectHooks: webhookOutboxHooks(webhooks.targets),
      onDetected: (outcome) => {
        if (outcome.raised > 0) deliverer.wake();
      },
    },
    deliverer,
    stop: () => deliverer.stop(),
  };
}
