import type pg from 'pg';
import { SEVERITIES } from '../detect/catalog';
import type { DetectHooks } from '../detect/detect-pass';
import type { WebhookTarget } from './webhook-target';

/**
 * Enqueues raised findings for the webhook targets whose minimum severity they meet: one PENDING row per finding
 * and URL in `webhook_deliveries`, each with a new delivery id, inside the detection pass's transaction (a
 * rolled-back pass enqueues nothing; `on conflict do nothing` keeps a finding enqueued once per URL).
 * Returns how many rows it inserted.
 */
export async function enqueueDeliveries(
  client: pg.ClientBase,
  findingIds: readonly string[],
  targets: readonly WebhookTarget[],
): Promise<number> {
  if (findingIds.length === 0 || targets.length === 0) return 0;
  const { rowCount } = await client.query(
    `insert into webhook_deliveries (delivery_id, finding_id, url, next_attempt_at)
     select gen_random_uuid(), f.id, t.url, now()
       from findings f
       cross join unnest($2::text[], $3::int[]) as t(url, min_rank)
      where f.id = any($1::bigint[]) and array_position($4::text[], f.severity) >= t.min_rank
      order by f.id, t.url
     on conflict (finding_id, url) do nothing`,
    [findingIds, targets.map((t) => t.url), targets.map((t) => SEVERITIES.indexOf(t.minSeverity) + 1), [...SEVERITIES]],
  );
  return rowCount ?? 0;
}

/** The detection hooks that feed the outbox (none without targets). */
export function webhookOutboxHooks(targets: readonly WebhookTarget[]): DetectHooks {
  if (targets.length === 0) return {};
  return {
    async onRaised(client, findingIds) {
      await enqueueDeliveries(client, findingIds, targets);
    },
  };
}
