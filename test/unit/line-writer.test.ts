// probe --json's output: lines written in chunks, none lost, none held back long (cli/output.ts).
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LineWriter } from "../../cli/output.ts";

function sink() {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      writes.push(String(chunk));
      done();
    },
  });
  return { stream, writes };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("LineWriter", () => {
  it("writes many lines in few chunks, in order, each line whole", () => {
    const { stream, writes } = sink();
    const writer = new LineWriter(stream, 1_000, 10_000);
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ i, pad: "x".repeat(20) }));
    for (const line of lines) writer.line(line);
    writer.flush();
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.length).toBeLessThan(30);
    for (const chunk of writes) expect(chunk.endsWith("\n")).toBe(true);
    expect(writes.join("")).toBe(`${lines.join("\n")}\n`);
  });

  it("holds a line back at most its delay, and flush writes nothing twice", async () => {
    const { stream, writes } = sink();
    const writer = new LineWriter(stream, 64 * 1024, 20);
    writer.line("first");
    expect(writes).toEqual([]);
    await sleep(200);
    expect(writes).toEqual(["first\n"]);
    writer.flush();
    expect(writes).toEqual(["first\n"]);
  });
});
