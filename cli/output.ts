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
