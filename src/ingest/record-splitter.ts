/** Longest record (characters) accepted; a longer one is rejected (its first part kept) so memory stays flat. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;
const KEPT_OF_LONG_RECORD = 64 * 1024;

/** Receives each record's text and the (1-based) line where it starts. */
export type RecordHandler = (text: string, lineNumber: number) => void;
/** Receives input that cannot be a record, with its line and why. */
export type RejectHandler = (raw: string, lineNumber: number, reason: string) => void;

const enum Mode {
  Unknown,
  Lines,
  Array,
  AfterArray,
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
 */
export class RecordSplitter {
  private mode = Mode.Unknown;
  private carry = '';
  private line = 1;
  private carryLine = 1;
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
    if (this.mode === Mode.Unknown) {
      const probe = this.carry + text;
      const m = /[^\s\ufeff]/.exec(probe);
      if (!m) {
        this.carry = probe;
        return;
      }
      this.mode = m[0] === '[' ? Mode.Array : Mode.Lines;
      this.carry = '';
      if (this.mode === Mode.Array) {
        // Count the lines before the opening bracket, then scan after it.
        for (let i = 0; i < m.index; i++) if (probe.charCodeAt(i) === 10) this.line++;
        this.carryLine = this.line;
        this.feedArray(probe.slice(m.index + 1));
      } else {
        this.feedLines(probe);
      }
      return;
    }
    if (this.mode === Mode.Lines) this.feedLines(text);
    else if (this.mode === Mode.Array) this.feedArray(text);
    else this.feedAfterArray(text);
  }

  /** Flushes what remains at the end of the input. */
  end(): void {
    if (this.mode === Mode.Lines) {
      if (!this.discarding && this.carry.length > 0) this.emitLine(this.carry, this.line);
    } else if (this.mode === Mode.Array) {
      if (!isBlank(this.carry)) this.emitElement(this.carry, this.carryLine);
      this.onReject('', this.line, 'JSON array not closed: the input ended before "]"');
    } else if (this.mode === Mode.AfterArray) {
      if (!isBlank(this.carry)) this.onReject(this.carry.slice(0, KEPT_OF_LONG_RECORD), this.carryLine, 'unexpected text after the JSON array');
    }
    this.carry = '';
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
    const rest = from === 0 ? data : data.slice(from);
    if (rest.length > MAX_RECORD_CHARS) {
      this.onReject(`${rest.slice(0, KEPT_OF_LONG_RECORD)}…`, this.line, `line longer than ${MAX_RECORD_CHARS} characters (first ${KEPT_OF_LONG_RECORD} kept)`);
      this.discarding = true;
    } else {
      this.carry = rest;
    }
  }

  private emitLine(text: string, lineNumber: number): void {
    const line = text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
    if (line.length === 0 || (line.charCodeAt(0) !== 123 && isBlank(line))) return;
    this.onRecord(line, lineNumber);
  }

  private emitElement(text: string, lineNumber: number): void {
    if (isBlank(text)) return;
    this.onRecord(text.trim(), lineNumber);
  }

  private feedArray(text: string): void {
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
      else if (c === 125 || (c === 93 && this.depth > 0)) this.depth--;
      else if (c === 44 && this.depth === 0) {
        this.emitElement(this.carry + text.slice(start, i), this.carryLine);
        this.carry = '';
        start = i + 1;
        this.carryLine = this.line;
        this.seenText = false;
      } else if (c === 93 && this.depth === 0) {
        this.emitElement(this.carry + text.slice(start, i), this.carryLine);
        this.carry = '';
        this.mode = Mode.AfterArray;
        this.carryLine = this.line;
        this.feedAfterArray(text.slice(i + 1));
        return;
      }
    }
    this.carry += text.slice(start);
    if (this.carry.length > MAX_RECORD_CHARS) {
      this.onReject(`${this.carry.slice(0, KEPT_OF_LONG_RECORD)}…`, this.carryLine, `array element longer than ${MAX_RECORD_CHARS} characters (first ${KEPT_OF_LONG_RECORD} kept)`);
      this.carry = '';
    }
  }

  private feedAfterArray(text: string): void {
    if (this.carry.length < KEPT_OF_LONG_RECORD) this.carry += text.slice(0, KEPT_OF_LONG_RECORD);
  }
}
