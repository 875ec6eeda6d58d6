import type { RejectedInput } from './audit-record';

/** Records read since the previous batch, ready for one insert transaction. Row arrays are parallel. */
export interface EventBatch {
  /** COPY text of the storable rows, back to back in one growing buffer (flat and compact). */
  data: Buffer;
  /** Bytes of `data` in use. */
  used: number;
  /** Start of each row's line in `data` (a row ends where the next starts, the last at `used`). */
  offsets: number[];
  /** Event key of each row. */
  keys: string[];
  /** Event time of each row (ISO-8601). */
  times: string[];
  /** Rollup group of each row: an index into `rollupKeys`. */
  rollups: number[];
  /** Distinct rollup keys of the batch (hour, service, client, action, status, role joined by {@link ROLLUP_SEPARATOR}). */
  rollupKeys: Map<string, number>;
  /** Address group of each row: an index into `addressKeys`, or -1 for a row without a client address. */
  addresses: number[];
  /** Distinct address keys of the batch (UTC day, service, client, client address joined by {@link ROLLUP_SEPARATOR}). */
  addressKeys: Map<string, number>;
  /** Input line of each row (so a row the database refuses can be rejected on its own). */
  lineNumbers: number[];
  rejected: RejectedInput[];
  /** Records read (rows + rejected). */
  read: number;
  malformedMeta: number;
  /** First instant of each month the rows fall in (epoch ms). */
  months: Set<number>;
  /** Raw input bytes consumed so far in the run (cumulative). */
  bytesRead: number;
  /** Last input line consumed. */
  lastLine: number;
  /** Records recognised as stored by their text (src/ingest/stored-lines.ts): duplicates that have no row here. */
  known: number;
}

/** Separates the parts of a rollup key (a character audit fields do not contain). */
export const ROLLUP_SEPARATOR = '\u0001';
/** Stands for a null role inside a rollup key. */
export const NULL_ROLE = '\u0002';

/** A new, empty batch; `capacity` pre-sizes its row buffer (e.g. the previous batch's size). */
export function emptyBatch(capacity = 0): EventBatch {
  return {
    data: Buffer.allocUnsafe(capacity),
    used: 0,
    offsets: [],
    keys: [],
    times: [],
    rollups: [],
    rollupKeys: new Map(),
    addresses: [],
    addressKeys: new Map(),
    lineNumbers: [],
    rejected: [],
    read: 0,
    malformedMeta: 0,
    months: new Set(),
    bytesRead: 0,
    lastLine: 0,
    known: 0,
  };
}

/** Number of storable rows in a batch. */
export function rowCount(batch: EventBatch): number {
  return batch.offsets.length;
}

/** The COPY line (with its newline) of row `i`. */
export function rowLine(batch: EventBatch, i: number): Buffer {
  const end = i + 1 < batch.offsets.length ? batch.offsets[i + 1]! : batch.used;
  return batch.data.subarray(batch.offsets[i], end);
}

/** Appends one storable row; `addressKey` is null when the event has no client address. */
export function appendRow(
  batch: EventBatch,
  line: string | Buffer,
  key: string,
  time: string,
  rollupKey: string,
  addressKey: string | null,
  lineNumber: number,
): void {
  const len = typeof line === 'string' ? Buffer.byteLength(line, 'utf8') : line.length;
  if (batch.used + len > batch.data.length) {
    const grown = Buffer.allocUnsafe(Math.max(1 << 20, (batch.used + len) * 2));
    batch.data.copy(grown, 0, 0, batch.used);
    batch.data = grown;
  }
  if (typeof line === 'string') batch.data.write(line, batch.used, 'utf8');
  else line.copy(batch.data, batch.used);
  batch.offsets.push(batch.used);
  batch.used += len;
  batch.keys.push(key);
  batch.times.push(time);
  let group = batch.rollupKeys.get(rollupKey);
  if (group === undefined) {
    group = batch.rollupKeys.size;
    batch.rollupKeys.set(rollupKey, group);
  }
  batch.rollups.push(group);
  let address = -1;
  if (addressKey !== null) {
    address = batch.addressKeys.get(addressKey) ?? -1;
    if (address < 0) {
      address = batch.addressKeys.size;
      batch.addressKeys.set(addressKey, address);
    }
  }
  batch.addresses.push(address);
  batch.lineNumbers.push(lineNumber);
}

/** The rows at `indexes` of a batch, as a batch without rejects, recognised records or counters. */
export function pickRows(batch: EventBatch, indexes: number[]): EventBatch {
  const out = {
    ...emptyBatch(),
    months: batch.months,
    bytesRead: batch.bytesRead,
    lastLine: batch.lastLine,
  };
  const keyOf = [...batch.rollupKeys.keys()];
  const addressOf = [...batch.addressKeys.keys()];
  for (const i of indexes)
    appendRow(
      out,
      rowLine(batch, i),
      batch.keys[i]!,
      batch.times[i]!,
      keyOf[batch.rollups[i]!]!,
      batch.addresses[i]! < 0 ? null : addressOf[batch.addresses[i]!]!,
      batch.lineNumbers[i]!,
    );
  return out;
}
