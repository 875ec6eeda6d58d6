/** Time bucket sizes of `timeline`, in UTC. */
export const TIME_INTERVALS = ['MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH'] as const;
/** One of {@link TIME_INTERVALS}. */
export type TimeIntervalName = (typeof TIME_INTERVALS)[number];

/** Dimensions an aggregate can be broken down by. */
export const AGGREGATE_DIMENSIONS = ['action', 'status', 'role', 'client', 'service'] as const;
/** One of {@link AGGREGATE_DIMENSIONS}. */
export type AggregateDimension = (typeof AGGREGATE_DIMENSIONS)[number];

/** What one aggregate field needs computed. */
export type AggregateNeed =
  | { kind: 'totals' }
  | { kind: 'bounds' }
  | { kind: 'dimension'; dimension: AggregateDimension }
  | { kind: 'timeline'; interval: TimeIntervalName };

/** A key and its count; buckets are sorted by count descending, then key. */
export interface CountBucketValue {
  key: string;
  count: number;
}

/** One time bucket. */
export interface TimeBucketValue {
  start: Date;
  count: number;
  failed: number;
}

/** Everything computed for one scope; only the requested parts are filled. */
export interface AggregateValue {
  count: number;
  failed: number;
  first: Date | null;
  last: Date | null;
  dimensions: Partial<Record<AggregateDimension, CountBucketValue[]>>;
  timelines: Partial<Record<TimeIntervalName, TimeBucketValue[]>>;
  /** Which tier answered: `daily`, `hourly` (rollups), `events`, or `none` (nothing could match). */
  source: 'daily' | 'daily-client' | 'hourly' | 'events' | 'none';
}

/** The key under which events without a role are counted in `byRole`. */
export const NO_ROLE_KEY = '(none)';

/** Sorts buckets by count descending, then key ascending. */
export function sortBuckets(buckets: CountBucketValue[]): CountBucketValue[] {
  return buckets.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** An aggregate over nothing. */
export function emptyAggregate(): AggregateValue {
  return { count: 0, failed: 0, first: null, last: null, dimensions: {}, timelines: {}, source: 'none' };
}
