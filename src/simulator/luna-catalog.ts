/** The 47 audit action codes a Luna Cloud HSM service writes (see shared/dpod-api.md). */
export const LUNA_ACTIONS = [
  'LUNA_CANCEL_CRYPTO_OPERATION',
  'LUNA_CLONE_AS_SOURCE',
  'LUNA_CLONE_AS_TARGET',
  'LUNA_CLONE_AS_TARGET_INIT',
  'LUNA_CLONE_CONFIGURE_POLICY',
  'LUNA_CLONE_GET_POLICY',
  'LUNA_COPY_OBJECT',
  'LUNA_CREATE_OBJECT',
  'LUNA_DECRYPT',
  'LUNA_DECRYPT_END',
  'LUNA_DECRYPT_INIT',
  'LUNA_DECRYPT_SINGLEPART',
  'LUNA_DERIVE_KEY',
  'LUNA_DERIVE_KEY_AND_WRAP',
  'LUNA_DESTROY_OBJECT',
  'LUNA_DIGEST',
  'LUNA_DIGEST_END',
  'LUNA_DIGEST_INIT',
  'LUNA_DIGEST_KEY',
  'LUNA_DIGEST_KEY_VALUE',
  'LUNA_ENCRYPT',
  'LUNA_ENCRYPT_END',
  'LUNA_ENCRYPT_INIT',
  'LUNA_ENCRYPT_SINGLEPART',
  'LUNA_GENERATE_DOMAIN_PARAM',
  'LUNA_GENERATE_KEY',
  'LUNA_GENERATE_KEY_PAIR',
  'LUNA_GEN_KCV',
  'LUNA_INIT_PIN',
  'LUNA_LOGIN',
  'LUNA_MODIFY_OBJECT',
  'LUNA_PARTITION_INIT',
  'LUNA_PARTITION_ZEROIZE',
  'LUNA_REPLICATE_AS_SOURCE',
  'LUNA_REPLICATE_AS_TARGET',
  'LUNA_REPLICATE_AS_TARGET_INIT',
  'LUNA_SET_PIN',
  'LUNA_SIGN',
  'LUNA_SIGN_END',
  'LUNA_SIGN_INIT',
  'LUNA_SIGN_SINGLEPART',
  'LUNA_UNWRAP_KEY',
  'LUNA_VERIFY',
  'LUNA_VERIFY_END',
  'LUNA_VERIFY_INIT',
  'LUNA_VERIFY_SINGLEPART',
  'LUNA_WRAP_KEY',
] as const;
/** One of {@link LUNA_ACTIONS}. */
export type LunaAction = (typeof LUNA_ACTIONS)[number];

/** An action code DPoD may add later; the simulator emits it rarely so consumers prove they keep unknown codes. */
export const FUTURE_ACTION = 'LUNA_FUTURE_OP';

/** The success status. */
export const RET_OK = 'LUNA_RET_OK';

/** Failure statuses the simulator uses, grouped by the situation that produces them. */
export const FAILURES = {
  wrongPin: 'LUNA_RET_UM_PIN_INCORRECT',
  lockedOut: 'LUNA_RET_UM_PIN_INCORRECT_CONTAINER_LOCKED',
  notLoggedIn: 'LUNA_RET_SM_NOT_LOGGED_IN',
  keyHandle: ['LUNA_RET_KEY_HANDLE_INVALID', 'LUNA_RET_OBJECT_HANDLE_INVALID'],
  crypto: [
    'LUNA_RET_DATA_LEN_RANGE',
    'LUNA_RET_SIGNATURE_INVALID',
    'LUNA_RET_MECHANISM_INVALID',
    'LUNA_RET_MECHANISM_PARAM_INVALID',
    'LUNA_RET_ENCRYPTED_DATA_INVALID',
    'LUNA_RET_KEY_TYPE_INCONSISTENT',
    'LUNA_RET_OPERATION_NOT_INITIALIZED',
    'LUNA_RET_BUFFER_TOO_SMALL',
    'LUNA_RET_DATA_INVALID',
  ],
  keyMgmt: [
    'LUNA_RET_TEMPLATE_INCOMPLETE',
    'LUNA_RET_TEMPLATE_INCONSISTENT',
    'LUNA_RET_ATTRIBUTE_VALUE_INVALID',
    'LUNA_RET_KEY_UNEXTRACTABLE',
    'LUNA_RET_KEY_NOT_WRAPPABLE',
    'LUNA_RET_WRAPPED_KEY_INVALID',
    'LUNA_RET_MAX_OBJECT_COUNT',
  ],
  device: ['LUNA_RET_DEVICE_ERROR', 'LUNA_RET_TIMEOUT', 'LUNA_RET_GENERAL_ERROR', 'LUNA_RET_MM_NOT_ENOUGH_MEMORY'],
  policy: ['LUNA_RET_OPERATION_RESTRICTED', 'LUNA_RET_M_OF_N_ACTIVATION_REQUIRED'],
} as const;

/** Single-part crypto actions and how often an authenticated session uses each (sign/verify/encrypt-heavy). */
export const SINGLE_PART_WEIGHTS: readonly (readonly [LunaAction, number])[] = [
  ['LUNA_SIGN_SINGLEPART', 26],
  ['LUNA_SIGN', 12],
  ['LUNA_VERIFY_SINGLEPART', 14],
  ['LUNA_VERIFY', 6],
  ['LUNA_ENCRYPT_SINGLEPART', 12],
  ['LUNA_ENCRYPT', 5],
  ['LUNA_DECRYPT_SINGLEPART', 10],
  ['LUNA_DECRYPT', 4],
  ['LUNA_DIGEST', 3],
  ['LUNA_WRAP_KEY', 2],
  ['LUNA_UNWRAP_KEY', 2],
  ['LUNA_DERIVE_KEY', 1],
  ['LUNA_GEN_KCV', 1],
];

/**
 * Key exports (taking key material out of the partition) are done in routine traffic by the service's exporter only;
 * another client does the import side of the same work instead.
 */
export const EXPORT_SUBSTITUTES: Readonly<Record<string, string>> = {
  LUNA_WRAP_KEY: 'LUNA_UNWRAP_KEY',
  LUNA_CLONE_AS_SOURCE: 'LUNA_CLONE_GET_POLICY',
  LUNA_REPLICATE_AS_SOURCE: 'LUNA_REPLICATE_AS_TARGET',
};

/** Multi-part operations: the `*_INIT` .. `*_END` families. */
export const MULTI_PART_FAMILIES = ['SIGN', 'VERIFY', 'ENCRYPT', 'DECRYPT', 'DIGEST'] as const;

/** Key-management actions (rarer, mostly by the crypto officer). */
export const KEY_MANAGEMENT_WEIGHTS: readonly (readonly [LunaAction, number])[] = [
  ['LUNA_GENERATE_KEY', 6],
  ['LUNA_GENERATE_KEY_PAIR', 5],
  ['LUNA_CREATE_OBJECT', 3],
  ['LUNA_DESTROY_OBJECT', 3],
  ['LUNA_MODIFY_OBJECT', 2],
  ['LUNA_COPY_OBJECT', 1],
  ['LUNA_DERIVE_KEY_AND_WRAP', 1],
  ['LUNA_DIGEST_KEY', 1],
  ['LUNA_DIGEST_KEY_VALUE', 1],
  ['LUNA_GENERATE_DOMAIN_PARAM', 1],
  ['LUNA_CANCEL_CRYPTO_OPERATION', 1],
];

/** Administrative and replication actions (rare). */
export const ADMIN_WEIGHTS: readonly (readonly [LunaAction, number])[] = [
  ['LUNA_SET_PIN', 3],
  ['LUNA_INIT_PIN', 2],
  ['LUNA_CLONE_GET_POLICY', 2],
  ['LUNA_CLONE_CONFIGURE_POLICY', 1],
  ['LUNA_CLONE_AS_SOURCE', 1],
  ['LUNA_CLONE_AS_TARGET_INIT', 1],
  ['LUNA_CLONE_AS_TARGET', 1],
  ['LUNA_REPLICATE_AS_SOURCE', 2],
  ['LUNA_REPLICATE_AS_TARGET_INIT', 2],
  ['LUNA_REPLICATE_AS_TARGET', 2],
  ['LUNA_PARTITION_INIT', 0.2],
  ['LUNA_PARTITION_ZEROIZE', 0.2],
];
