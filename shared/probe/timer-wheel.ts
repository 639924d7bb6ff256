// One timer for every connection's deadlines (docs/readme-probe.md, "CPU"): a probe with 900
// sockets open would otherwise create, clear and re-create Node timers for each of them. Entries sit
// in a binary heap by due time; one Node timer is armed for the earliest. Entries fire in the timers
// phase of the event loop, as Node's own timers do.

export interface TimerEntry {
  /** Due time, performance.now() milliseconds. */
  at: number;
  // biome-ignore lint/suspicious/noExplicitAny: the argument's type is checked where the entry is scheduled.
  fn: (arg: any) => void;
  /** What `fn` is called with: a connection's state, so that no closure is made per entry. */
  arg: unknown;
  /** Position in the heap, -1 once fired or cancelled. */
  index: number;
}

export class TimerWheel {
  readonly #heap: TimerEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;

  /** Entries waiting. */
  get size(): number {
    return this.#heap.length;
  }

  /** Calls `fn(arg)` once, `delayMs` from now, unless cancelled first. */
  schedule(delayMs: number, fn: () => void): TimerEntry;
  schedule<T>(delayMs: number, fn: (arg: T) => void, arg: T): TimerEntry;
  schedule(delayMs: number, fn: (arg: unknown) => void, arg?: unknown): TimerEntry {
    const entry: TimerEntry = { at: performance.now() + Math.max(0, delayMs), fn, arg, index: this.#heap.length };
    this.#heap.push(entry);
    this.#up(entry.index);
    if (entry.index === 0) this.#arm();
    return entry;
  }

  /** Moves an entry that has not fired to a new due time. */
  reschedule(entry: TimerEntry, delayMs: number): void {
    if (entry.index < 0) return;
    const before = entry.at;
    entry.at = performance.now() + Math.max(0, delayMs);
    if (entry.at < before) this.#up(entry.index);
    else this.#down(entry.index);
    if (this.#heap[0] === entry) this.#arm();
  }

  cancel(entry: TimerEntry): void {
    const index = entry.index;
    if (index < 0) return;
    entry.index = -1;
    const last = this.#heap.pop() as TimerEntry;
    if (last !== entry) {
      this.#heap[index] = last;
      last.index = index;
      this.#down(index);
      this.#up(last.index);
    }
    if (this.#heap.length === 0) this.#disarm();
  }

  #arm(): void {
    const first = this.#heap[0];
    if (!first) {
      this.#disarm();
      return;
    }
    if (this.#timer !== undefined && first.at >= this.#armedFor) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = first.at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(1, Math.ceil(first.at - performance.now())));
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    // Node may run a timer up to a millisecond early by performance.now()'s finer clock.
    const now = performance.now() + 1;
    for (let first = this.#heap[0]; first !== undefined && first.at <= now; first = this.#heap[0]) {
      this.cancel(first);
      first.fn(first.arg);
    }
    this.#arm();
  }

  #up(index: number): void {
    const heap = this.#heap;
    const entry = heap[index] as TimerEntry;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as TimerEntry;
      if (parent.at <= entry.at) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.index = index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const entry = heap[index] as TimerEntry;
    const length = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && (heap[right] as TimerEntry).at < (heap[left] as TimerEntry).at ? right : left;
      const childEntry = heap[child] as TimerEntry;
      if (childEntry.at >= entry.at) break;
      heap[index] = childEntry;
      childEntry.index = index;
      index = child;
    }
    heap[index] = entry;
    entry.index = index;
  }
}
