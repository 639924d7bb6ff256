import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Alert } from "../../shared/alerts/alert.ts";
import { type AlertDeliverer, deliverAll } from "../../shared/alerts/deliver.ts";
import { ConsoleDeliverer } from "../../shared/alerts/deliver-console.ts";
import { JsonlFileDeliverer } from "../../shared/alerts/deliver-jsonl.ts";
import { SnsDeliverer } from "../../shared/alerts/deliver-sns.ts";
import { WebhookDeliverer } from "../../shared/alerts/deliver-webhook.ts";
import { localAlerting } from "../../shared/alerts/local.ts";
import { DeliveryError } from "../../shared/alerts/retry.ts";
import { alertOf, deliverAsLaptop, deliveryStateIn } from "../unit/alerts-fixtures.ts";
import { type ScriptedServer, startScriptedServer } from "./alerts-http-server.ts";

const TOPIC = "arn:aws:sns:eu-west-1:999988887777:exposure-alerts";
const FAST_RETRY = { attempts: 2, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1_000 };
const sns = mockClient(SNSClient);
let dir: string;
let server: ScriptedServer | undefined;

beforeEach(async () => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "567910cd-659e-55d4-8ccb-5aaf14679dc0" });
  dir = await mkdtemp(join(tmpdir(), "alerts-delivery-"));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

function captured() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { stream, text: () => text };
}

async function jsonlIds(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter((line) => line.trim())
    .flatMap((line) => {
      try {
        return [(JSON.parse(line) as Alert).id];
      } catch {
        return [];
      }
    });
}

/** One cycle of the local monitor as a fresh process would run it: new deliverers, state from disk. */
function channels(webhookUrl: string, out: NodeJS.WritableStream): AlertDeliverer[] {
  return [
    new ConsoleDeliverer(out),
    new JsonlFileDeliverer(join(dir, "alerts.jsonl")),
    new SnsDeliverer({ client: new SNSClient({ region: "eu-west-1" }), topicArn: TOPIC, retry: FAST_RETRY }),
    new WebhookDeliverer({ url: webhookUrl, retry: FAST_RETRY, timeoutMs: 5_000 }),
  ];
}

describe("delivery ledger and outbox", () => {
  it("SNS succeeds and the webhook fails; the next run delivers only the webhook", async () => {
    server = await startScriptedServer([{ status: 503 }, { status: 503 }, { status: 200, body: "ok" }]);
    const alert = alertOf("newly-unauthenticated");
    const console1 = captured();

    const first = await deliverAsLaptop([alert], channels(server.url, console1.stream), join(dir, "delivery"));
    expect(first.delivered.map((pair) => pair.deliverer).sort()).toEqual(["console", "jsonl", `sns:${TOPIC}`]);
    expect(first.failed).toHaveLength(1);
    expect(first.failed[0]).toMatchObject({ alertId: alert.id, retryable: true });
    expect(first.failed[0]!.deliverer).toMatch(/^webhook:/);
    expect(first.failed[0]!.error).toMatch(/HTTP 503.*gave up after 2 attempts/);
    expect(first.pending).toBe(1);
    expect(server.requests).toHaveLength(2);

    // The next cycle brings no new alert; the pending one goes to the webhook only.
    const console2 = captured();
    const second = await deliverAsLaptop([], channels(server.url, console2.stream), join(dir, "delivery"));
    expect(second.delivered.map((pair) => pair.deliverer)).toEqual([first.failed[0]!.deliverer]);
    expect(second.alreadyDelivered.map((pair) => pair.deliverer).sort()).toEqual(["console", "jsonl", `sns:${TOPIC}`]);
    expect(second.failed).toEqual([]);
    expect(second.pending).toBe(0);

    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(server.successes).toBe(1);
    expect(await jsonlIds(join(dir, "alerts.jsonl"))).toEqual([alert.id]);
    expect(console1.text()).toContain("CRITICAL newly-unauthenticated 203.0.113.10:6379");
    expect(console2.text()).toBe("");

    // A third cycle has nothing pending and sends nothing.
    const third = await deliverAsLaptop([], channels(server.url, captured().stream), join(dir, "delivery"));
    expect(third).toEqual({ delivered: [], alreadyDelivered: [], failed: [], pending: 0 });
    expect(server.requests).toHaveLength(3);
  });

  it("a redelivered event (same alert id) is delivered once", async () => {
    const alert = alertOf("newly-unauthenticated", { eventId: "evt-redelivered" });
    const twin = alertOf("newly-unauthenticated", { eventId: "evt-redelivered" });
    expect(twin.id).toBe(alert.id);
    const sink = captured();
    const deliverers = () => [new ConsoleDeliverer(sink.stream), new JsonlFileDeliverer(join(dir, "alerts.jsonl"))];
    await deliverAsLaptop([alert, twin], deliverers(), dir);
    const later = await deliverAsLaptop([twin], deliverers(), dir);
    expect(later.delivered).toEqual([]);
    expect(
      sink
        .text()
        .split("\n")
        .filter((line) => line.includes("newly-unauthenticated")),
    ).toHaveLength(1);
    expect(await jsonlIds(join(dir, "alerts.jsonl"))).toEqual([alert.id]);
  });

  it("stops a channel for the run after it fails, keeps order, and catches up on the next run", async () => {
    server = await startScriptedServer([{ status: 502 }, { status: 502 }, { status: 200 }]);
    const alerts = [
      alertOf("newly-internet-facing", { state: "auth-required", eventId: "evt-a" }),
      alertOf("newly-unauthenticated", { eventId: "evt-b" }),
      alertOf("resolved", { state: "closed", eventId: "evt-c" }),
    ];
    const webhook = () => new WebhookDeliverer({ url: server!.url, retry: FAST_RETRY });
    const first = await deliverAsLaptop(alerts, [webhook()], dir);
    expect(server.requests).toHaveLength(2);
    expect(first.failed.map((failure) => failure.alertId)).toEqual(alerts.map((alert) => alert.id));
    expect(first.failed.slice(1).every((failure) => failure.error.startsWith("not tried:"))).toBe(true);
    expect(first.pending).toBe(3);

    const second = await deliverAsLaptop([], [webhook()], dir);
    expect(second.delivered.map((pair) => pair.alertId)).toEqual(alerts.map((alert) => alert.id));
    const posted = server.requests.slice(2).map((request) => request.headers["x-exposure-alert-id"]);
    expect(posted).toEqual(alerts.map((alert) => alert.id));
  });

  it("a non-retryable refusal of one alert does not hold back the others", async () => {
    const flaky: AlertDeliverer = {
      name: "flaky",
      async deliver(alert) {
        if (alert.kind === "resolved") throw new DeliveryError("refused", { retryable: false });
      },
    };
    const alerts = [alertOf("resolved", { state: "closed" }), alertOf("newly-unauthenticated")];
    const report = await deliverAll(alerts, [flaky], deliveryStateIn(dir));
    expect(report.failed.map((failure) => [failure.alertId, failure.retryable])).toEqual([[alerts[0]!.id, false]]);
    expect(report.delivered.map((pair) => pair.alertId)).toEqual([alerts[1]!.id]);
  });

  it("the JSONL file never holds an alert twice, even when the ledger is lost, and survives a torn last line", async () => {
    const path = join(dir, "nested", "alerts.jsonl");
    const alert = alertOf("newly-unauthenticated");
    await new JsonlFileDeliverer(path).deliver(alert);
    await new JsonlFileDeliverer(path).deliver(alert);
    const jsonl = new JsonlFileDeliverer(path);
    await Promise.all([jsonl.deliver(alert), jsonl.deliver(alert)]);
    expect(await jsonlIds(path)).toEqual([alert.id]);

    // A crash mid-append left half a line; the next alert starts on its own line.
    await appendFile(path, '{"id":"torn","kind":"new');
    const next = alertOf("resolved", { state: "closed" });
    await new JsonlFileDeliverer(path).deliver(next);
    const lines = (await readFile(path, "utf8")).split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe('{"id":"torn","kind":"new');
    expect(JSON.parse(lines[2]!)).toEqual(next);
    expect(lines[3]).toBe("");
    expect(await jsonlIds(path)).toEqual([alert.id, next.id]);
  });

  it("localAlerting: console and <store-dir>/alerts.jsonl always, the webhook when given, the store's delivery state", async () => {
    const sink = captured();
    const state = deliveryStateIn(dir);
    const local = localAlerting({ storeDir: dir, out: sink.stream, state });
    expect(local.deliverers.map((deliverer) => deliverer.name)).toEqual(["console", "jsonl"]);
    const withHook = localAlerting({ storeDir: dir, webhookUrl: "https://hooks.slack.com/services/T/B/x", state });
    expect(withHook.deliverers.map((deliverer) => deliverer.name)[2]).toMatch(/^webhook:https:\/\/hooks\.slack\.com#/);
    const alert = alertOf("newly-unauthenticated");
    const report = await deliverAsLaptop([alert], local.deliverers, dir, state);
    expect(report.delivered).toHaveLength(2);
    expect(await jsonlIds(join(dir, "alerts.jsonl"))).toEqual([alert.id]);
    expect(await state.has(`${alert.id}|jsonl`)).toBe(true);
    expect(await state.read()).not.toBeNull();
  });
});
