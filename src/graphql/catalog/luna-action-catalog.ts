/** Categories of Luna Cloud HSM audit actions. */
export const LUNA_ACTION_CATEGORIES = [
  'CRYPTO',
  'DIGEST',
  'KEY_MANAGEMENT',
  'OBJECT_MANAGEMENT',
  'CLONING',
  'REPLICATION',
  'AUTHENTICATION',
  'PARTITION_ADMIN',
  'SESSION',
] as const;
/** One of {@link LUNA_ACTION_CATEGORIES}. */
export type LunaActionCategory = (typeof LUNA_ACTION_CATEGORIES)[number];

/** One entry of the action catalog. */
export interface LunaActionEntry {
  code: string;
  description: string;
  category: LunaActionCategory;
}

// Descriptions follow the Luna Cloud HSM "Service Audit Logs" page; the two policy actions come from a DPoD client.
const ENTRIES: ReadonlyArray<readonly [string, LunaActionCategory, string]> = [
  ['LUNA_CANCEL_CRYPTO_OPERATION', 'SESSION', 'Cancels a crypto operation in progress.'],
  ['LUNA_CLONE_AS_SOURCE', 'CLONING', 'Clones an object out of the source token.'],
  ['LUNA_CLONE_AS_TARGET', 'CLONING', 'Clones an object into the target token.'],
  ['LUNA_CLONE_AS_TARGET_INIT', 'CLONING', 'Starts cloning an object into the target token.'],
  ['LUNA_CLONE_CONFIGURE_POLICY', 'CLONING', 'Configures the cloning policy of the partition.'],
  ['LUNA_CLONE_GET_POLICY', 'CLONING', 'Reads the cloning policy of the partition.'],
  ['LUNA_COPY_OBJECT', 'OBJECT_MANAGEMENT', 'Creates a copy of an object.'],
  ['LUNA_CREATE_OBJECT', 'OBJECT_MANAGEMENT', 'Creates an object.'],
  ['LUNA_DECRYPT', 'CRYPTO', 'Decrypts encrypted data.'],
  ['LUNA_DECRYPT_END', 'CRYPTO', 'Finishes a multi-part decryption.'],
  ['LUNA_DECRYPT_INIT', 'CRYPTO', 'Starts a decryption.'],
  ['LUNA_DECRYPT_SINGLEPART', 'CRYPTO', 'Decrypts single-part encrypted data.'],
  ['LUNA_DERIVE_KEY', 'KEY_MANAGEMENT', 'Derives a key from a base key.'],
  ['LUNA_DERIVE_KEY_AND_WRAP', 'KEY_MANAGEMENT', 'Derives a key from a base key and wraps (encrypts) it.'],
  ['LUNA_DESTROY_OBJECT', 'OBJECT_MANAGEMENT', 'Destroys an object.'],
  ['LUNA_DIGEST', 'DIGEST', 'Digests single-part data.'],
  ['LUNA_DIGEST_END', 'DIGEST', 'Finishes a multi-part digest.'],
  ['LUNA_DIGEST_INIT', 'DIGEST', 'Starts a message digest.'],
  ['LUNA_DIGEST_KEY', 'DIGEST', 'Digests a key.'],
  ['LUNA_DIGEST_KEY_VALUE', 'DIGEST', 'Digests the value of a key.'],
  ['LUNA_ENCRYPT', 'CRYPTO', 'Encrypts data.'],
  ['LUNA_ENCRYPT_END', 'CRYPTO', 'Finishes a multi-part encryption.'],
  ['LUNA_ENCRYPT_INIT', 'CRYPTO', 'Starts a multi-part encryption.'],
  ['LUNA_ENCRYPT_SINGLEPART', 'CRYPTO', 'Encrypts single-part data.'],
  ['LUNA_GENERATE_DOMAIN_PARAM', 'KEY_MANAGEMENT', 'Generates domain parameters.'],
  ['LUNA_GENERATE_KEY', 'KEY_MANAGEMENT', 'Generates a secret key.'],
  ['LUNA_GENERATE_KEY_PAIR', 'KEY_MANAGEMENT', 'Generates a public/private key pair.'],
  ['LUNA_GEN_KCV', 'KEY_MANAGEMENT', 'Generates a key check value.'],
  ['LUNA_INIT_PIN', 'AUTHENTICATION', "Initialises the user's PIN."],
  ['LUNA_LOGIN', 'AUTHENTICATION', 'Logs in to a token.'],
  ['LUNA_MODIFY_OBJECT', 'OBJECT_MANAGEMENT', 'Updates an object.'],
  ['LUNA_PARTITION_INIT', 'PARTITION_ADMIN', 'Initialises the HSM partition.'],
  ['LUNA_PARTITION_ZEROIZE', 'PARTITION_ADMIN', 'Zeroizes the HSM partition.'],
  ['LUNA_REPLICATE_AS_SOURCE', 'REPLICATION', 'Replicates an object out of the source token.'],
  ['LUNA_REPLICATE_AS_TARGET', 'REPLICATION', 'Replicates an object into the target token.'],
  ['LUNA_REPLICATE_AS_TARGET_INIT', 'REPLICATION', 'Starts replicating an object into the target token.'],
  ['LUNA_SET_PIN', 'AUTHENTICATION', "Changes the current user's PIN."],
  ['LUNA_SIGN', 'CRYPTO', 'Signs data.'],
  ['LUNA_SIGN_END', 'CRYPTO', 'Finishes a multi-part signature.'],
  ['LUNA_SIGN_INIT', 'CRYPTO', 'Starts a multi-part signature.'],
  ['LUNA_SIGN_SINGLEPART', 'CRYPTO', 'Signs single-part data.'],
  ['LUNA_UNWRAP_KEY', 'KEY_MANAGEMENT', 'Unwraps (decrypts and imports) a key.'],
  ['LUNA_VERIFY', 'CRYPTO', 'Verifies a signature on data.'],
  ['LUNA_VERIFY_END', 'CRYPTO', 'Finishes a multi-part verification.'],
  ['LUNA_VERIFY_INIT', 'CRYPTO', 'Starts a multi-part verification.'],
  ['LUNA_VERIFY_SINGLEPART', 'CRYPTO', 'Verifies a signature on single-part data.'],
  ['LUNA_WRAP_KEY', 'KEY_MANAGEMENT', 'Wraps (encrypts and exports) a key.'],
];

/** The 47 known Luna Cloud HSM audit actions, sorted by code. */
export const LUNA_ACTION_CATALOG: readonly LunaActionEntry[] = Object.freeze(
  ENTRIES.map(([code, category, description]) => Object.freeze({ code, category, description })),
);

const BY_CODE = new Map(LUNA_ACTION_CATALOG.map((e) => [e.code, e]));

/** The catalog entry of an action code, or null for codes DPoD added later. */
export function findLunaAction(code: string): LunaActionEntry | null {
  return BY_CODE.get(code) ?? null;
}
