// What the path from the internet changes in the history and the alerts: an endpoint that answers
// while its path is closed is a path anomaly (alerted once); an open path where nothing answers is a
// latent exposure (recorded, not paged); alerts name the rule to change and the command, and carry
// the owner tags into SNS message attributes.
import { describe, expect, it } from "vitest";
import { alertsFromEvent, notificationFor } from "../../shared/alerts/alert.ts";
import { snsPublishInput } from "../../shared/alerts/deliver-sns.ts";
import { emailBody } from "../../shared/alerts/render.ts";
import type { Asset, ExposurePath } from "../../shared/exposure/model.ts";
import { decideTransition, isLatentExposure, isPathAnomaly } from "../../shared/exposure/transitions.ts";
import { minutes, observation } from "../helpers/observations.ts";
import { stateChangeEvent, WEB_1 } from "./alerts-fixtures.ts";

const OPEN: ExposurePath = {
  verdict: "open",
  scope: "any",
  reason: "sgr-0a1b2c3d4e5f60001 (sg-0a1b2c3d4e5f60001) admits 0.0.0.0/0 on TCP 6379; ...",
  rules: [
    {
      groupId: "sg-0a1b2c3d4e5f60001",
      ruleId: "sgr-0a1b2c3d4e5f60001",
      protocol: "tcp",
      fromPort: 6379,
      toPort: 6379,
      source: "0.0.0.0/0",
    },
  ],
  networkAcl: { networkAclId: "acl-0a1b2c3d4e5f60001", ruleNumber: 100, action: "allow", source: "0.0.0.0/0" },
  route: { routeTableId: "rtb-0a1b2c3d4e5f60001", main: false, destination: "0.0.0.0/0", target: "igw-0a1b2c3d" },
};
const CLOSED: ExposurePath = {
  verdict: "closed",
  layer: "network-acl",
  reason: "network ACL acl-0a1b2c3d4e5f60001 entry 90 denies 0.0.0.0/0 on TCP 6379 before any entry allows it",
};
const withPath = (path: ExposurePath): Asset => ({ ...WEB_1, owners: { team: "payments" }, path });

describe("path anomaly", () => {
  it("answering while the path is closed raises path-anomaly once, beside the exposure alert", () => {
    const first = decideTransition(null, observation("auth-required", minutes(0), { asset: withPath(CLOSED) }));
    expect(first.event?.alerts).toEqual(["path-anomaly", "newly-internet-facing"]);
    // The one notification of that change is the anomaly (same severity, listed first).
    expect(notificationFor(first.event!)?.kind).toBe("path-anomaly");
    const again = decideTransition(first.next, observation("auth-required", minutes(20), { asset: withPath(CLOSED) }));
    expect(again.event).toBeNull();
  });

  it("a path that closes under an endpoint still answering is an event with only path-anomaly", () => {
    const open = decideTransition(null, observation("auth-required", minutes(0), { asset: withPath(OPEN) }));
    expect(open.event?.alerts).toEqual(["newly-internet-facing"]);
    const closed = decideTransition(open.next, observation("auth-required", minutes(15), { asset: withPath(CLOSED) }));
    expect(closed.outcome).toBe("changed");
    expect(closed.event?.alerts).toEqual(["path-anomaly"]);
    expect(closed.next?.asset?.path?.verdict).toBe("closed");
  });

  it("no anomaly when nothing answers, or when the path is open or unknown", () => {
    expect(isPathAnomaly("none", withPath(CLOSED))).toBe(false);
    expect(isPathAnomaly("reachable", withPath(OPEN))).toBe(false);
    expect(isPathAnomaly("reachable", withPath({ verdict: "unknown", reason: "not read" }))).toBe(false);
    expect(isPathAnomaly("reachable", withPath(CLOSED))).toBe(true);
  });
});

describe("latent exposure", () => {
  it("an open path where nothing answers is recorded with its path, without an event", () => {
    const first = decideTransition(null, observation("closed", minutes(0), { asset: withPath(OPEN) }));
    expect(first.outcome).toBe("first-seen");
    expect(first.event).toBeNull();
    expect(isLatentExposure(first.next!.exposure, first.next!.asset)).toBe(true);
    // A restricted path is not latent: the probe's own address may simply not be among its sources.
    expect(isLatentExposure("none", withPath({ ...OPEN, scope: "restricted" }))).toBe(false);
  });

  it("a path verdict that changes while nothing answers is written at once (no event)", () => {
    const closed = decideTransition(null, observation("filtered", minutes(0), { asset: withPath(CLOSED) }));
    const opened = decideTransition(closed.next, observation("filtered", minutes(15), { asset: withPath(OPEN) }));
    expect(opened.outcome).toBe("checkpoint");
    expect(opened.event).toBeNull();
    expect(opened.next?.asset?.path?.verdict).toBe("open");
  });
});

describe("alerts with a path", () => {
  it("name the rule to change and give the command that closes it, in the owning account and region", () => {
    const [alert] = alertsFromEvent(stateChangeEvent({ asset: withPath(OPEN) }));
    expect(alert!.remediation).toContain(
      "Remove security-group rule sgr-0a1b2c3d4e5f60001 of sg-0a1b2c3d4e5f60001 (admits 0.0.0.0/0 on TCP 6379) in account 111122223333: `aws ec2 revoke-security-group-ingress --group-id sg-0a1b2c3d4e5f60001 --security-group-rule-ids sgr-0a1b2c3d4e5f60001 --region eu-west-1`.",
    );
    const body = emailBody(alert!);
    expect(body).toContain("Team:   team=payments");
    expect(body).toContain(
      "Path:   open: sgr-0a1b2c3d4e5f60001 (sg-0a1b2c3d4e5f60001) admits 0.0.0.0/0; acl-0a1b2c3d4e5f60001 #100",
    );
  });

  it("a path anomaly says so first, with the layer the configuration blames", () => {
    const [alert] = alertsFromEvent(
      stateChangeEvent({ state: "auth-required", alerts: ["path-anomaly"], asset: withPath(CLOSED) }),
    );
    expect(alert!.kind).toBe("path-anomaly");
    expect(alert!.severity).toBe("high");
    expect(alert!.remediation[0]).toMatch(
      /^Anomaly: TCP 6379 answers from the internet although the configuration says it cannot \(network ACL acl-0a1b2c3d4e5f60001 entry 90 denies/,
    );
    expect(emailBody(alert!)).toMatch(/^Answers although the configuration says no path exists: /);
  });

  it("carry the owner tags the inventory found into SNS message attributes", () => {
    const [alert] = alertsFromEvent(stateChangeEvent({ asset: withPath(OPEN) }));
    const input = snsPublishInput("arn:aws:sns:eu-west-1:111122223333:alerts", alert!);
    expect(input.MessageAttributes).toMatchObject({ "owner.team": { DataType: "String", StringValue: "payments" } });
  });
});
