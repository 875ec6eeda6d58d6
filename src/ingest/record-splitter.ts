// Hand-written on purpose: stream-json's parser fails the whole stream at the first syntax error, while one broken
// element of an export must be rejected alone (with its line) and the rest read, in bounded memory per record.
/** Longest record (characters) accepted; a longer one is rejected (its first part kept) so memory stays flat. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;
const KEPT_OF_LONG_RECORD = 64 * 1024;

/** Receives each record's text and the (1-based) line where it starts. */
export type RecordHandler = (text: string, lineNumber: number) => void;
/** Receives input that cannot be a record, with its line and why. */
export type RejectHandler = (raw: string, lineNumber: number, reason: string) => void;

const enum Mode {
  /** Nothing but blanks read yet (at the start, or after a closed array). */
  Unknown,
  Lines,
  Array,
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10 && c !== 0xfeff) return false;
  }
  return true;
}

/**
 * Splits decoded export text into record texts, streaming: JSON Lines (one record per line) or one JSON
 * array of records (detected by a leading `[`). Array elements are cut at top-level commas by a small
 * scanner that respects strings, so a broken element is rejected on its own and the rest still read.
 * Text after a closed array is read the same way (another array, or lines), never dropped. A UTF-8
 * byte-order mark before a line (e.g. where two exports were concatenated) is skipped.
 */
export class RecordSplitter {
  private mode = Mode.Unknown;
  private carry = '';
  private line = 1;
  private carryLine = 1;
  /** Skipping the rest of a line, or of an array element, already rejected as too long. */
  private discarding = false;
  // Array scanner state.
  private depth = 0;
  private inString = false;
  private escaped = false;
  private seenText = false;

  constructor(
    private readonly onRecord: RecordHandler,
    private readonly onReject: RejectHandler,
  ) {}

  /** Feeds the next piece of text. */
  feed(text: string): void {
    // Each step reads in one mode and hands back the text it leaves to the next mode (a loop, not recursion:
    // one chunk may hold thousands of small arrays).
    let rest: string | null = text;
    while (rest !== null) {
      if (this.mode === Mode.Lines) {
        this.feedLines(rest);
        rest = null;
      } else if (this.mode === Mode.Array) rest = this.feedArray(rest);
      else rest = this.feedUnknown(rest);
    }
  }

  /**
   * Flushes what remains at the end of the input. `cut` says why the input stopped early (a read error):
   * the record it stopped inside is then rejected with that reason rather than parsed.
   */
  end(cut?: string): void {
    if (cut !== undefined) {
      const open = this.mode === Mode.Array || (this.mode === Mode.Lines && !this.discarding);
      if (open && !isBlank(this.carry) && !this.discarding) {
        this.onReject(
          this.carry.slice(0, KEPT_OF_LONG_RECORD),
          this.mode === Mode.Array ? this.carryLine : this.line,
          `the input ended inside this record: ${cut}`,
        );
      }
    } else if (this.mode === Mode.Lines) {
      if (!this.discarding && this.carry.length > 0) this.emitLine(this.carry, this.line);
    } else if (this.mode === Mode.Array) {
      if (!this.discarding && !isBlank(this.carry)) this.emitElement(this.carry, this.carryLine);
      this.onReject('', this.line, 'JSON array not closed: the input ended before "]"');
    }
    this.carry = '';
  }

  /** Finds what the input holds from its first non-blank character; returns the text for that mode. */
  private feedUnknown(text: string): string | null {
    const probe = this.carry + text;
    const m = /[^\s\ufeff]/.exec(probe);
    if (!m) {
      this.carry = probe;
      return null;
    }
    this.carry = '';
    if (m[0] !== '[') {
      this.mode = Mode.Lines;
      return probe;
    }
    this.mode = Mode.Array;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.seenText = false;
    // Count the lines before the opening bracket, then scan after it.
    for (let i = 0; i < m.index; i++) if (probe.charCodeAt(i) === 10) this.line++;
    this.carryLine = this.line;
    return probe.slice(m.index + 1);
  }

  private feedLines(text: string): void {
    let start = 0;
    if (this.discarding) {
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      this.discarding = false;
      this.line++;
      start = nl + 1;
    }
    if (this.carry.length > 0 && text.indexOf('\n', start) < 0) {
      // Still inside one long line: append without searching the carried text again.
      this.carry += start > 0 ? text.slice(start) : text;
      this.checkLongLine();
      return;
    }
    const data = this.carry.length > 0 ? this.carry + text.slice(start) : start > 0 ? text.slice(start) : text;
    this.carry = '';
    let from = 0;
    for (;;) {
      const nl = data.indexOf('\n', from);
      if (nl < 0) break;
      this.emitLine(data.slice(from, nl), this.line);
      this.line++;
      from = nl + 1;
    }
    this.carry = from === 0 ? data : data.slice(from);
    this.checkLongLine();
  }

  private checkLongLine(): void {
    // Two more: a carried line may still hold a byte-order mark and a "\r" that emitLine strips (it then decides exactly).
    if (this.carry.length <= MAX_RECORD_CHARS + 2) return;
    this.onReject(
      `${this.carry.slice(0, KEPT_OF_LONG_RECORD)}…`,
      this.line,
      `line longer than ${MAX_RECORD_CHARS} characters (first ${KEPT_OF_LONG_RECORD} kept)`,
    );
    this.carry = '';
    this.discarding = true;
  }

  private emitLine(text: string, lineNumber: number): void {
    let line = text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
    if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.length === 0 || (line.charCodeAt(0) !== 123 && isBlank(line))) return;
    if (line.length > MAX_RECORD_CHARS) {
      this.onReject(
        `${line.slice(0, KEPT_OF_LONG_RECORD)}…`,
        lineNumber,
        `line longer than ${MAX_RECORD_CHARS} characters (first ${KEPT_OF_LONG_RECORD} kept)`,
      );
      return;
    }
    this.onRecord(line, lineNumber);
  }

  private emitElement(text: string, lineNumber: number): void {
    if (this.discarding) {
      // The rest of an element already rejected as too long.
      this.discarding = false;
      return;
    }
    if (isBlank(text)) return;
    if (text.length > MAX_RECORD_CHARS) {
      this.rejectLongElement(text, lineNumber);
      return;
    }
    this.onRecord(text.trim(), lineNumber);
  }

  private rejectLongElement(text: string, lineNumber: number): void {
    this.onReject(
      `${text.trimStart().slice(0, KEPT_OF_LONG_RECORD)}…`,
      lineNumber,
      `array element longer than ${MAX_RECORD_CHARS} characters (first ${KEPT_OF_LONG_RECORD} kept)`,
    );
  }

  /** Scans array text; returns the text after the closing "]" (null while the array is open). */
  private feedArray(text: string): string | null {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        this.line++;
        // A line break before any element text: the element starts on a later line.
        if (!this.seenText) this.carryLine = this.line;
        continue;
      }
      if (!this.seenText && c !== 32 && c !== 9 && c !== 13) this.seenText = true;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92) this.escaped = true;
        else if (c === 34) this.inString = false;
        continue;
      }
      if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) this.depth++;
      else if (c === 125 || c === 93) {
        // A closing bracket with nothing open: "]" ends the array; a stray "}" stays in its element
        // (which is then rejected) and must not unbalance the elements after it.
        if (this.depth > 0) this.depth--;
        else if (c === 93) {
          this.emitElement(this.carry + text.slice(start, i), this.carryLine);
          this.carry = '';
          this.mode = Mode.Unknown;
          return text.slice(i + 1);
        }
      } else if (c === 44 && this.depth === 0) {
        this.emitElement(this.carry + text.slice(start, i), this.carryLine);
        this.carry = '';
        start = i + 1;
        this.carryLine = this.line;
        this.seenText = false;
      }
    }
    if (this.discarding) return null;
    this.carry += text.slice(start);
    if (this.carry.length > MAX_RECORD_CHARS) {
      this.rejectLongElement(this.carry, this.carryLine);
      this.carry = '';
      this.discarding = true;
    }
    return null;
  }
}
