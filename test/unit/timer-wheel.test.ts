// The one timer every connection's deadlines share (shared/probe/timer-wheel.ts).
import { describe, expect, it } from "vitest";
import { TimerWheel } from "../../shared/probe/timer-wheel.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("timer wheel", () => {
  it("fires entries in due order, each once, and not before it is due", async () => {
    const wheel = new TimerWheel();
    const fired: Array<{ name: string; late: number }> = [];
    const at = (name: string, delayMs: number) => {
      const due = performance.now() + delayMs;
      wheel.schedule(delayMs, () => fired.push({ name, late: performance.now() - due }));
    };
    at("c", 60);
    at("a", 10);
    at("d", 90);
    at("b", 30);
    at("a2", 10);
    await sleep(200);
    const names = fired.map((entry) => entry.name);
    expect(names.slice(0, 2).sort()).toEqual(["a", "a2"]); // equally due: either order
    expect(names.slice(2)).toEqual(["b", "c", "d"]);
    // Node may fire up to a millisecond early by performance.now(); never more.
    for (const entry of fired) expect(entry.late).toBeGreaterThanOrEqual(-1.5);
    expect(wheel.size).toBe(0);
  });

  it("cancels and reschedules, whichever entry is first", async () => {
    const wheel = new TimerWheel();
    const fired: string[] = [];
    const first = wheel.schedule(10, () => fired.push("first"));
    const second = wheel.schedule(20, () => fired.push("second"));
    const third = wheel.schedule(30, () => fired.push("third"));
    wheel.cancel(first);
    wheel.cancel(first); // twice is harmless
    wheel.reschedule(third, 5);
    wheel.reschedule(second, 60);
    expect(wheel.size).toBe(2);
    await sleep(120);
    expect(fired).toEqual(["third", "second"]);
    wheel.reschedule(second, 5); // fired already: nothing happens
    await sleep(30);
    expect(fired).toEqual(["third", "second"]);
  });

  it("keeps order over many entries with cancellations in between", async () => {
    const wheel = new TimerWheel();
    const fired: number[] = [];
    const entries = Array.from({ length: 500 }, (_, i) => wheel.schedule((i * 37) % 50, () => fired.push(i)));
    for (let i = 0; i < 500; i += 3) wheel.cancel(entries[i] as (typeof entries)[number]);
    await sleep(150);
    const expected = entries
      .map((entry, i) => ({ i, at: entry.at }))
      .filter(({ i }) => i % 3 !== 0)
      .sort((a, b) => a.at - b.at || a.i - b.i);
    expect(fired).toHaveLength(expected.length);
    // Fired in due order (ties in any order).
    const atOf = new Map(entries.map((entry, i) => [i, entry.at]));
    for (let k = 1; k < fired.length; k++) {
      expect(atOf.get(fired[k] as number) as number).toBeGreaterThanOrEqual(atOf.get(fired[k - 1] as number) as number);
    }
  });

  it("calls an entry's function with its argument, so one function serves every connection", async () => {
    const wheel = new TimerWheel();
    const seen: string[] = [];
    const record = (state: { name: string }) => seen.push(state.name);
    wheel.schedule(10, record, { name: "a" });
    const cancelled = wheel.schedule(5, record, { name: "b" });
    wheel.schedule(1, record, { name: "c" });
    wheel.cancel(cancelled);
    await sleep(60);
    expect(seen).toEqual(["c", "a"]);
  });
});
