// An acknowledgement that expires with its endpoint still exposed alerts once (docs/readme-acknowledgements.md):
// one rule (acknowledgementExpiryEvent) makes the expiry's event, and one step records it, on the scan
// schedule: the deployed enumerate function into the table, whose stream hands it to notify; the laptop's
// cycle into its embedded store, whose delivery step reads it like any other recorded event.
import {
  type Acknowledgement,
  acknowledgementExpiryEvent,
  activeAcknowledgement,
  expiredUnalerted,
} from "../exposure/acknowledgement.ts";
import type { StateChangeEvent } from "../exposure/model.ts";
import type { ExposureStore } from "../store/store.ts";

/** Records an expiry event and marks its acknowledgement, both or neither; false if already done. */
export interface ExpiryEventRecorder {
  recordExpiryEvent(ack: Acknowledgement, event: StateChangeEvent, at: string): Promise<boolean>;
}

/**
 * Records each due expiry as an event (run by the enumerate function, and by the laptop's cycle, on the
 * scan schedule), delivered like any other event; an acknowledgement whose endpoint is no longer exposed
 * is only marked. Safe to run again at any time, also by two processes at once.
 */
export async function recordExpiryEvents(options: {
  store: Pick<ExposureStore, "getEndpoint" | "listAcknowledgements" | "markExpiryAlerted">;
  recorder: ExpiryEventRecorder;
  now: Date;
}): Promise<{ recorded: StateChangeEvent[]; notExposed: number }> {
  const now = options.now.toISOString();
  const due = await expiryEventsDue(options.store, await options.store.listAcknowledgements(), now);
  const recorded: StateChangeEvent[] = [];
  let notExposed = 0;
  for (const { ack, event } of due) {
    if (event === null) {
      await options.store.markExpiryAlerted(ack, now);
      notExposed += 1;
    } else if (await options.recorder.recordExpiryEvent(ack, event, now)) {
      recorded.push(event);
    }
  }
  return { recorded, notExposed };
}

/** Expired acknowledgements not yet handled, each with its event (null: nothing to alert). */
async function expiryEventsDue(
  store: Pick<ExposureStore, "getEndpoint">,
  acks: readonly Acknowledgement[],
  now: string,
): Promise<{ ack: Acknowledgement; event: StateChangeEvent | null }[]> {
  const due: { ack: Acknowledgement; event: StateChangeEvent | null }[] = [];
  for (const ack of expiredUnalerted(acks, now)) {
    // A newer acknowledgement in force at the expiry takes over: nothing to alert.
    const covered = activeAcknowledgement(acks, ack.endpoint, ack.until) !== null;
    due.push({ ack, event: covered ? null : acknowledgementExpiryEvent(ack, await store.getEndpoint(ack.endpoint)) });
  }
  return due;
}
