import { badInput } from './errors';

/**
 * Refuses a text argument holding U+0000 (BAD_USER_INPUT naming `argument`): PostgreSQL text cannot hold it, so
 * no stored value has one, and sent as a parameter it fails the whole statement.
 */
export function storableText(value: string, argument: string): string {
  if (value.includes('\u0000'))
    throw badInput(`${argument} holds a NUL character (\\u0000), which no stored value can contain`, argument);
  return value;
}
