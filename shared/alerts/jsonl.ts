// An append-only file of JSON lines that survives a crash mid-write: a torn last line is skipped
// when reading and never glued to the next record, and each append is flushed to disk before
// it resolves. Appends from one process are serialized.
import { mkdir, open, readFile } from "node:fs/promises";
import { dirname } from "node:path";

export class JsonLinesFile {
  readonly path: string;
  /** Whether the file is empty or ends with a newline; unknown until read. */
  #complete: boolean | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** Every parseable line; a torn or corrupt line is skipped. A missing file reads as empty. */
  async read(): Promise<unknown[]> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      text = "";
    }
    this.#complete = text === "" || text.endsWith("\n");
    const values: unknown[] = [];
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        // A line cut by a crash: its record was never acknowledged, so skipping it loses nothing.
      }
    }
    return values;
  }

  append(values: readonly unknown[]): Promise<void> {
    const run = this.#queue.then(() => this.#append(values));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #append(values: readonly unknown[]): Promise<void> {
    if (values.length === 0) return;
    if (this.#complete === null) await this.read();
    await mkdir(dirname(this.path), { recursive: true });
    const body = values.map((value) => `${JSON.stringify(value)}\n`).join("");
    const handle = await open(this.path, "a");
    try {
      await handle.writeFile(this.#complete ? body : `\n${body}`);
      await handle.datasync();
      this.#complete = true;
    } catch (error) {
      this.#complete = null; // a partial write may have left a torn line: look again next time
      throw error;
    } finally {
      await handle.close();
    }
  }
}
