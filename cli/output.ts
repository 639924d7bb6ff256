// Terminal output helpers shared by the commands.

/** A plain left-aligned table with a header row; empty columns still keep their place. */
export function formatTable(columns: string[], rows: string[][]): string {
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(columns), ...rows.map(line)].join("\n");
}

/** A single self-overwriting progress line on stderr (only used when stderr is a terminal). */
export class ProgressLine {
  #done = 0;
  #exposed = 0;
  #lastDraw = 0;
  readonly #total: number;

  constructor(total: number) {
    this.#total = total;
  }

  tick(exposed: boolean): void {
    this.#done++;
    if (exposed) this.#exposed++;
    const now = Date.now();
    if (now - this.#lastDraw < 200 && this.#done < this.#total) return;
    this.#lastDraw = now;
    process.stderr.write(`\r${this.#done}/${this.#total} probed, ${this.#exposed} reachable`);
  }

  done(): void {
    process.stderr.write("\r\x1b[K");
  }
}

/**
 * Lines to a stream in chunks rather than one write per line: a write is a system call (and, into a
 * pipe, a wake-up of the reader), which for `probe --json` over 10,000 targets cost more CPU than
 * the JSON itself. A line waits at most `maxDelayMs`, so a reader still sees results as they come.
 */
export class LineWriter {
  #pending = "";
  #timer: NodeJS.Timeout | undefined;
  readonly #stream: NodeJS.WritableStream;
  readonly #maxChars: number;
  readonly #maxDelayMs: number;

  constructor(stream: NodeJS.WritableStream = process.stdout, maxChars = 64 * 1024, maxDelayMs = 100) {
    this.#stream = stream;
    this.#maxChars = maxChars;
    this.#maxDelayMs = maxDelayMs;
  }

  line(text: string): void {
    this.#pending += `${text}\n`;
    if (this.#pending.length >= this.#maxChars) this.flush();
    else if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), this.#maxDelayMs);
  }

  /** Writes what is pending now (call it before the command returns). */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending === "") return;
    const chunk = this.#pending;
    this.#pending = "";
    this.#stream.write(chunk);
  }
}
