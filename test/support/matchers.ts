/**
 * jest's asymmetric matchers are typed `any`, which would leak into every expected object they sit in. These return
 * `unknown`: the expected object keeps its type, and the matcher still matches.
 */
export const containing = (shape: Record<string, unknown> | string): unknown =>
  typeof shape === 'string' ? expect.stringContaining(shape) : expect.objectContaining(shape);

/** {@link containing} for `expect.stringMatching`. */
export const matching = (pattern: RegExp | string): unknown => expect.stringMatching(pattern);

/** {@link containing} for `expect.any`. */
export const anyOf = (type: unknown): unknown => expect.any(type);
