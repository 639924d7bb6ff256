// The retry queue's message: what notify puts on the FIFO queue is what notify-retry reads back, including
// messages queued by an earlier version (docs/readme-alerts.md, "Delivery guarantees").
import { describe, expect, it } from "vitest";
import { decodeRetryMessage, encodeRetryMessage } from "../../shared/alerts/retry-queue.ts";
import { legacyRecord } from "../helpers/legacy-records.ts";
import { alertOf } from "./alerts-fixtures.ts";

describe("retry messages", () => {
  const alert = alertOf("newly-unauthenticated");

  it("decode to the alert that was encoded", () => {
    expect(decodeRetryMessage(encodeRetryMessage({ alert, channels: ["sns"] }))).toEqual({ alert, channels: ["sns"] });
  });

  it("queued by an earlier version (the endpoint at `target`, the facts at `server`), decode to the same alert", () => {
    const { endpoint, ...rest } = legacyRecord(JSON.parse(JSON.stringify(alert)));
    const old = { v: 1, alert: { ...rest, target: endpoint }, channels: ["webhook"] };
    expect(JSON.stringify(old)).toContain('"server":{"product":"redis"');
    expect(JSON.stringify(old)).not.toContain('"endpoint"');
    expect(decodeRetryMessage(JSON.stringify(old))).toEqual({ alert, channels: ["webhook"] });
  });

  it("refuse a body that is not a retry message", () => {
    expect(() => decodeRetryMessage("{}")).toThrow(/lacks an alert id/);
    expect(() => decodeRetryMessage("not json")).toThrow(/not JSON/);
  });
});
