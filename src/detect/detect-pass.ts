import type pg from 'pg';
import { FINDINGS_CHANNEL } from '../db/channels';
import type { Logger } from '../logger';
import { RULE_CODES, type DetectionSettings, type RuleCode } from './catalog';
import { readClientDirectory, type ClientDirectory, type ClientDirectorySource } from './client-directory';
import { applyCandidate } from './findings-store';
import { EVALUATORS, type DetectRange } from './rules';

/** What a detection pass did, in total and per rule. */
export interface DetectOutcome {
  raised: number;
  extended: number;
  byRule: Record<RuleCode, { raised: number; extended: number }>;
}

const LOCK = 'dpod-audit detection';

/** Extra work of a detection pass. */
export interface DetectHooks {
  /**
   * Called inside the pass's transaction with the findings it raised (not those it extended), before commit: what it
   * writes (a webhook outbox) commits or rolls back with them.
   */
  onRaised?: (client: pg.PoolClient, findingIds: readonly string[]) => Promise<void>;
}

/** What a pass reads from outside the store, before it begins (never inside its transaction). */
export interface DetectInputs {
  /**
   * DPoD's bindings for UNBOUND_CLIENT_ACTIVITY, read before the pass takes its lock; without it that rule does not
   * run, and when the read fails or is inconsistent the rule is skipped for the pass with a warning.
   */
  clientDirectory?: ClientDirectorySource;
}

/**
 * Runs every enabled rule over [from, to) and stores what they find, in one repeatable-read transaction under a
 * session advisory lock taken before it begins: two followers (or a follower and `dpod-audit detect`) take turns,
 * and the second sees the first's findings; a crash rolls the pass back whole. Findings are identified by their
 * episode, so passes over data read before extend what they raised and never raise it twice.
 */
export async function detectFindings(
  pool: pg.Pool,
  range: DetectRange,
  settings: DetectionSettings,
  logger?: Logger,
  hooks: DetectHooks = {},
  inputs: DetectInputs = {},
): Promise<DetectOutcome> {
  const raisedIds: string[] = [];
  const outcome: DetectOutcome = {
    raised: 0,
    extended: 0,
    byRule: Object.fromEntries(RULE_CODES.map((r) => [r, { raised: 0, extended: 0 }])) as DetectOutcome['byRule'],
  };
  if (range.from.getTime() >= range.to.getTime()) return outcome;
  // DPoD is read before the lock and the transaction: a slow upstream never holds either.
  const directory: ClientDirectory | null =
    settings.rules.includes('UNBOUND_CLIENT_ACTIVITY') && inputs.clientDirectory
      ? await readClientDirectory(inputs.clientDirectory, logger)
      : null;
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [LOCK]);
    try {
      await client.query('begin isolation level repeatable read');
      for (const rule of settings.rules) {
        for (const candidate of await EVALUATORS[rule](client, range, settings, { directory })) {
          const { applied, id } = await applyCandidate(client, candidate);
          if (applied === 'unchanged') continue;
          if (applied === 'raised') raisedIds.push(id);
          outcome[applied === 'raised' ? 'raised' : 'extended']++;
          outcome.byRule[rule][applied === 'raised' ? 'raised' : 'extended']++;
        }
      }
      if (raisedIds.length > 0) {
        await hooks.onRaised?.(client, raisedIds);
        // Delivered at commit to every listener (subscriptions on any replica); one notice per finding.
        await client.query('select pg_notify($1, id) from unnest($2::text[]) as id', [FINDINGS_CHANNEL, raisedIds]);
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
  if (outcome.raised + outcome.extended > 0)
    logger?.info(
      { from: range.from, to: range.to, raised: outcome.raised, extended: outcome.extended },
      'detection raised or extended findings',
    );
  return outcome;
}

/**
 * Detection over a long range, one day per pass (each its own transaction); `onPass` hears each. DPoD's bindings, if
 * given, are read once before the first pass and judged by every pass.
 */
export async function detectRange(
  pool: pg.Pool,
  range: DetectRange,
  settings: DetectionSettings,
  options: {
    logger?: Logger;
    onPass?: (r: DetectRange, o: DetectOutcome) => void;
    hooks?: DetectHooks;
  } & DetectInputs = {},
): Promise<DetectOutcome> {
  const directory =
    options.clientDirectory && settings.rules.includes('UNBOUND_CLIENT_ACTIVITY')
      ? await readClientDirectory(options.clientDirectory, options.logger)
      : null;
  const inputs: DetectInputs = directory ? { clientDirectory: () => Promise.resolve(directory) } : {};
  const total: DetectOutcome = {
    raised: 0,
    extended: 0,
    byRule: Object.fromEntries(RULE_CODES.map((r) => [r, { raised: 0, extended: 0 }])) as DetectOutcome['byRule'],
  };
  for (let t = range.from.getTime(); t < range.to.getTime(); t += 86_400_000) {
    const part = { from: new Date(t), to: new Date(Math.min(t + 86_400_000, range.to.getTime())) };
    const o = await detectFindings(pool, part, settings, options.logger, options.hooks, inputs);
    total.raised += o.raised;
    total.extended += o.extended;
    for (const r of RULE_CODES) {
      total.byRule[r].raised += o.byRule[r].raised;
      total.byRule[r].extended += o.byRule[r].extended;
    }
    options.onPass?.(part, o);
  }
  return total;
}
