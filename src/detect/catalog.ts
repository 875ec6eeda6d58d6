/**
 * The detection rules: stable codes (other systems match on them), a severity each, and the settings they run
 * with (environment variables, validated in config.ts; defaults below).
 */
export const RULE_CODES = [
  'PIN_FAILURE_BURST',
  'DESTRUCTIVE_OPERATION',
  'KEY_EXPORT_BY_NEW_CLIENT',
  'NEW_CLIENT_ADDRESS',
  'VOLUME_SPIKE',
  'UNBOUND_CLIENT_ACTIVITY',
] as const;
export type RuleCode = (typeof RULE_CODES)[number];

export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The settings every rule reads (one environment variable each, see {@link SETTING_VARIABLES}). */
export interface DetectionSettings {
  /** Rules that run (`DETECT_RULES`, default all). */
  readonly rules: readonly RuleCode[];
  /** PIN_FAILURE_BURST: failures in a row (`DETECT_PIN_FAILURES`, default 5) ... */
  readonly pinFailures: number;
  /** ... within this many seconds (`DETECT_PIN_WINDOW_SECONDS`, default 600). */
  readonly pinWindowSeconds: number;
  /** DESTRUCTIVE_OPERATION: objects destroyed by one client (`DETECT_DESTROY_OBJECTS`, default 10) ... */
  readonly destroyObjects: number;
  /** ... within this many seconds (`DETECT_DESTROY_WINDOW_SECONDS`, default 600). */
  readonly destroyWindowSeconds: number;
  /** KEY_EXPORT_BY_NEW_CLIENT, NEW_CLIENT_ADDRESS: the trailing days a client's history is read over (`DETECT_HISTORY_DAYS`, 30). */
  readonly historyDays: number;
  /** NEW_CLIENT_ADDRESS: a client's first days, when every address is new, raise nothing (`DETECT_NEW_CLIENT_GRACE_DAYS`, 3). */
  readonly newClientGraceDays: number;
  /** VOLUME_SPIKE: an hour above this many times the client's median hour (`DETECT_VOLUME_FACTOR`, default 5) ... */
  readonly volumeFactor: number;
  /** ... and above this many events (`DETECT_VOLUME_FLOOR`, default 500) ... */
  readonly volumeFloor: number;
  /** ... the median taken over the trailing days (`DETECT_VOLUME_BASELINE_DAYS`, default 7). */
  readonly volumeBaselineDays: number;
  /**
   * UNBOUND_CLIENT_ACTIVITY: only events of the last this many hours before DPoD's bindings were read are judged by
   * them, and activity resuming later than that after a finding is a new one (`DETECT_UNBOUND_HORIZON_HOURS`, 24).
   */
  readonly unboundHorizonHours: number;
}

export const DEFAULT_DETECTION_SETTINGS: DetectionSettings = {
  rules: RULE_CODES,
  pinFailures: 5,
  pinWindowSeconds: 600,
  destroyObjects: 10,
  destroyWindowSeconds: 600,
  historyDays: 30,
  newClientGraceDays: 3,
  volumeFactor: 5,
  volumeFloor: 500,
  volumeBaselineDays: 7,
  unboundHorizonHours: 24,
};

/** Statuses that are a wrong PIN or a lockout, whatever the action. */
export const PIN_FAILURE_STATUSES = [
  'LUNA_RET_UM_PIN_INCORRECT',
  'LUNA_RET_UM_PIN_INCORRECT_CONTAINER_LOCKED',
  'LUNA_RET_UM_PIN_LEN_RANGE',
  'LUNA_RET_TOKEN_LOCKED_OUT',
  'LUNA_RET_CONTAINER_LOCKED',
] as const;

/** Partition-officer operations that wipe or re-key a partition: each one is a finding. */
export const DESTRUCTIVE_PO_ACTIONS = [
  'LUNA_PARTITION_ZEROIZE',
  'LUNA_PARTITION_INIT',
  'LUNA_INIT_PIN',
  'LUNA_SET_PIN',
] as const;

/** Actions that take key material out of the partition. */
export const KEY_EXPORT_ACTIONS = ['LUNA_WRAP_KEY', 'LUNA_CLONE_AS_SOURCE', 'LUNA_REPLICATE_AS_SOURCE'] as const;

/** One rule as the catalog shows it. */
export interface RuleDescription {
  code: RuleCode;
  severity: Severity;
  title: string;
  /** What raises it, with the settings in force. */
  description(s: DetectionSettings): string;
  /** The environment variables of its settings, and the setting each sets. */
  settings: readonly { variable: string; key: keyof Omit<DetectionSettings, 'rules'> }[];
}

export const RULES: readonly RuleDescription[] = [
  {
    code: 'PIN_FAILURE_BURST',
    severity: 'HIGH',
    settings: [
      { variable: 'DETECT_PIN_FAILURES', key: 'pinFailures' },
      { variable: 'DETECT_PIN_WINDOW_SECONDS', key: 'pinWindowSeconds' },
    ],
    title: 'Burst of wrong PINs',
    description: (s) =>
      `${s.pinFailures} or more PIN or login failures in a row by one client on one service within ${s.pinWindowSeconds} s, ` +
      'not interrupted by a successful login of that client on that service (as the HSM counts towards lockout). ' +
      'The finding covers the whole run of failures and grows while it goes on.',
  },
  {
    code: 'DESTRUCTIVE_OPERATION',
    severity: 'CRITICAL',
    settings: [
      { variable: 'DETECT_DESTROY_OBJECTS', key: 'destroyObjects' },
      { variable: 'DETECT_DESTROY_WINDOW_SECONDS', key: 'destroyWindowSeconds' },
    ],
    title: 'Destructive operation',
    description: (s) =>
      `Any ${DESTRUCTIVE_PO_ACTIONS.join(', ')} by the partition officer; and ${s.destroyObjects} or more objects ` +
      `destroyed (LUNA_DESTROY_OBJECT) by one client on one service within ${s.destroyWindowSeconds} s.`,
  },
  {
    code: 'KEY_EXPORT_BY_NEW_CLIENT',
    severity: 'HIGH',
    settings: [{ variable: 'DETECT_HISTORY_DAYS', key: 'historyDays' }],
    title: 'Key export by a client that never exported',
    description: (s) =>
      `${KEY_EXPORT_ACTIONS.join(', ')} by a client that did none of them on that service in the trailing ` +
      `${s.historyDays} days (the store must hold that service's events of those days); later exports extend the finding.`,
  },
  {
    code: 'NEW_CLIENT_ADDRESS',
    severity: 'MEDIUM',
    settings: [
      { variable: 'DETECT_HISTORY_DAYS', key: 'historyDays' },
      { variable: 'DETECT_NEW_CLIENT_GRACE_DAYS', key: 'newClientGraceDays' },
    ],
    title: 'Client acting from a new address',
    description: (s) =>
      `A client acting on a service from an address (IPv4 /24, IPv6 /64) it did not use there in the trailing ` +
      `${s.historyDays} days; a client's first ${s.newClientGraceDays} days raise nothing.`,
  },
  {
    code: 'VOLUME_SPIKE',
    severity: 'MEDIUM',
    settings: [
      { variable: 'DETECT_VOLUME_FACTOR', key: 'volumeFactor' },
      { variable: 'DETECT_VOLUME_FLOOR', key: 'volumeFloor' },
      { variable: 'DETECT_VOLUME_BASELINE_DAYS', key: 'volumeBaselineDays' },
    ],
    title: 'Volume spike',
    description: (s) =>
      `A client's events on a service in one hour above ${s.volumeFactor} times its median hour over the trailing ` +
      `${s.volumeBaselineDays} days and above ${s.volumeFloor}; consecutive hours make one finding. Needs ` +
      `${s.volumeBaselineDays} days of the client's history.`,
  },
  {
    code: 'UNBOUND_CLIENT_ACTIVITY',
    severity: 'HIGH',
    settings: [{ variable: 'DETECT_UNBOUND_HORIZON_HOURS', key: 'unboundHorizonHours' }],
    title: 'Activity of a client DPoD no longer lists',
    description: (s) =>
      `Events on a service DPoD lists by a client it does not list as bound to that service, read from DPoD before ` +
      `each pass; only events of the last ${s.unboundHorizonHours} hours before that read are judged (the bindings ` +
      'say who is bound now, not who was). Runs only where DPoD is configured (the follower, `detect` with DPOD_*); ' +
      'a pass where DPoD is unreachable or answers inconsistently skips it with a warning.',
  },
];

export function ruleOf(code: RuleCode): RuleDescription {
  const rule = RULES.find((r) => r.code === code);
  if (!rule) throw new Error(`unknown rule ${code}`);
  return rule;
}
