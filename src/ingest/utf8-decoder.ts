import { isUtf8 } from 'node:buffer';

/**
 * Invalid input bytes come out as lone low surrogates U+DC80..U+DCFF (the byte is the low 8 bits), which
 * no valid UTF-8 decodes to, so a record holding one can be told apart from one holding a real U+FFFD.
 */
const ESCAPE_BASE = 0xdc00;
const HAS_ESCAPED_BYTE = /(?<![\ud800-\udbff])[\udc80-\udcff]/;
const ESCAPED_BYTES = /(?<![\ud800-\udbff])[\udc80-\udcff]/g;

/** Whether decoded text holds a byte that was not valid UTF-8 (see {@link Utf8Decoder}). */
export function hasInvalidBytes(text: string): boolean {
  return HAS_ESCAPED_BYTE.test(text);
}

/** Decoded text with each invalid byte written as `\xNN` (for showing a rejected record). */
export function showInvalidBytes(text: string): string {
  return text.replace(ESCAPED_BYTES, (c) => `\\x${(c.charCodeAt(0) - ESCAPE_BASE).toString(16).padStart(2, '0')}`);
}

/** Bytes a sequence starting with `lead` has in all (0 when `lead` cannot start one). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Whether `b` may follow `lead` as the sequence's second byte (excludes overlongs, surrogates, > U+10FFFF). */
function validSecond(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

/** Length of the valid sequence at `i` (0 when the byte there starts none, or the buffer ends inside it). */
function validSequenceAt(buf: Buffer, i: number): number {
  const n = sequenceLength(buf[i]!);
  if (n <= 1 || i + n > buf.length) return n === 1 ? 1 : 0;
  if (!validSecond(buf[i]!, buf[i + 1]!)) return 0;
  for (let k = 2; k < n; k++) if ((buf[i + k]! & 0xc0) !== 0x80) return 0;
  return n;
}

/** Where the incomplete sequence at the end of `buf` starts (`buf.length` when it ends complete). */
function incompleteTail(buf: Buffer): number {
  for (let back = 1; back <= 3 && back <= buf.length; back++) {
    const b = buf[buf.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const n = sequenceLength(b);
    if (n <= back) return buf.length;
    // Keep it only when what is there so far could still become valid.
    if (back >= 2 && !validSecond(b, buf[buf.length - back + 1]!)) return buf.length;
    return buf.length - back;
  }
  return buf.length;
}

/**
 * A streaming UTF-8 decoder like `StringDecoder`, except that an invalid byte is not silently replaced
 * by U+FFFD but kept visible (see {@link hasInvalidBytes}), so the record holding it can be rejected.
 * Valid input takes one native check per chunk and decodes as fast as `StringDecoder`.
 */
export class Utf8Decoder {
  private tail: Buffer | null = null;
  /** True once any invalid byte was seen. */
  sawInvalid = false;

  /** Decodes the next chunk (an incomplete sequence at its end waits for the next chunk). */
  write(chunk: Buffer): string {
    const buf = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    const end = incompleteTail(buf);
    this.tail = end < buf.length ? Buffer.from(buf.subarray(end)) : null;
    const body = end < buf.length ? buf.subarray(0, end) : buf;
    if (isUtf8(body)) return body.toString('utf8');
    this.sawInvalid = true;
    return decodeMarking(body);
  }

  /** Ends the input: bytes of a sequence it ended inside come out as invalid bytes. */
  end(): string {
    const tail = this.tail;
    this.tail = null;
    if (!tail) return '';
    this.sawInvalid = true;
    return decodeMarking(tail);
  }
}

function decodeMarking(buf: Buffer): string {
  let out = '';
  let runStart = 0;
  let i = 0;
  while (i < buf.length) {
    const n = validSequenceAt(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > runStart) out += buf.toString('utf8', runStart, i);
    out += String.fromCharCode(ESCAPE_BASE + buf[i]!);
    i++;
    runStart = i;
  }
  if (runStart < buf.length) out += buf.toString('utf8', runStart);
  return out;
}
