import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { CallTimeoutError, callWithDeadline } from "../../shared/deadline.ts";
import {
  assumedRoleCredentials,
  CREDENTIAL_REFRESH_MARGIN_MS,
  createAwsClientFactory,
  globalServiceRegions,
} from "../../shared/inventory/clients.ts";
import { createLimiter } from "../../shared/inventory/limiter.ts";

const sts = mockClient(STSClient);
afterEach(() => sts.reset());

function issue(serial: number, expiresAt: number) {
  return {
    Credentials: {
      AccessKeyId: `ASIA${serial}`,
      SecretAccessKey: "secret",
      SessionToken: "token",
      Expiration: new Date(expiresAt),
    },
  };
}

describe("assumedRoleCredentials", () => {
  it("assumes once, shares the call between concurrent users, and renews shortly before expiry", async () => {
    let clock = 1_000_000;
    let serial = 0;
    sts.on(AssumeRoleCommand).callsFake(async () => {
      serial++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return issue(serial, clock + 3_600_000);
    });
    const provider = assumedRoleCredentials({
      sts: new STSClient({ region: "us-east-1", credentials: { accessKeyId: "AKIA", secretAccessKey: "s" } }),
      roleArn: "arn:aws:iam::222222222222:role/ExposureMonitorReadOnly",
      externalId: "ext-1",
      sessionName: "test",
      callTimeoutMs: 1_000,
      now: () => clock,
    });
    const concurrent = await Promise.all([provider(), provider(), provider()]);
    expect(concurrent.map((c) => c.accessKeyId)).toEqual(["ASIA1", "ASIA1", "ASIA1"]);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toMatchObject({
      RoleArn: "arn:aws:iam::222222222222:role/ExposureMonitorReadOnly",
      ExternalId: "ext-1",
      RoleSessionName: "test",
    });

    clock += 3_600_000 - CREDENTIAL_REFRESH_MARGIN_MS - 1_000; // still comfortably valid
    expect((await provider()).accessKeyId).toBe("ASIA1");
    clock += 2_000; // now within the refresh margin
    expect((await provider()).accessKeyId).toBe("ASIA2");
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("does not cache a failure", async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(Object.assign(new Error("not authorized"), { name: "AccessDenied" }))
      .resolves(issue(7, Date.now() + 3_600_000));
    const provider = assumedRoleCredentials({
      sts: new STSClient({ region: "us-east-1", credentials: { accessKeyId: "AKIA", secretAccessKey: "s" } }),
      roleArn: "arn:aws:iam::222222222222:role/R",
      externalId: null,
      sessionName: "test",
      callTimeoutMs: 1_000,
    });
    await expect(provider()).rejects.toThrow("not authorized");
    expect((await provider()).accessKeyId).toBe("ASIA7");
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).not.toHaveProperty("ExternalId");
  });
});

describe("callWithDeadline", () => {
  it("rejects and aborts the call when it does not finish in time", async () => {
    let aborted = false;
    const started = Date.now();
    await expect(
      callWithDeadline(50, (signal) => {
        signal.addEventListener("abort", () => {
          aborted = true;
        });
        return new Promise(() => {});
      }),
    ).rejects.toThrow(CallTimeoutError);
    expect(aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("passes results and errors through", async () => {
    await expect(callWithDeadline(1_000, async () => 42)).resolves.toBe(42);
    await expect(callWithDeadline(1_000, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });
});

describe("createLimiter", () => {
  it("runs at most n tasks at once and all of them eventually", async () => {
    const limit = createLimiter(3);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 2 + (i % 3)));
          running--;
          if (i === 5) throw new Error("task 5 fails");
          return i;
        }).catch((error: Error) => error.message),
      ),
    );
    expect(peak).toBe(3);
    expect(results[5]).toBe("task 5 fails");
    expect(results.filter((r) => typeof r === "number")).toHaveLength(19);
  });
});

describe("createAwsClientFactory", () => {
  it("places the global services in the home region's partition", async () => {
    expect(globalServiceRegions("eu-west-1")).toEqual({ organizations: "us-east-1", globalAccelerator: "us-west-2" });
    expect(globalServiceRegions("us-gov-west-1")).toEqual({ organizations: "us-gov-west-1", globalAccelerator: null });
    expect(globalServiceRegions("cn-north-1")).toEqual({ organizations: "cn-northwest-1", globalAccelerator: null });

    const credentials = { accessKeyId: "AKIA", secretAccessKey: "s" };
    const commercial = createAwsClientFactory({ credentials, homeRegion: "eu-west-1" });
    const gov = createAwsClientFactory({ credentials, homeRegion: "us-gov-east-1" });
    try {
      expect(await commercial.organizations().config.region()).toBe("us-east-1");
      expect(await commercial.sts().config.region()).toBe("eu-west-1");
      const account = await commercial.openAccount("111111111111", { kind: "caller" });
      expect(await account.globalAccelerator()!.config.region()).toBe("us-west-2");
      expect(await account.ec2("ap-south-1").config.region()).toBe("ap-south-1");
      // One client per service, account and region, reused.
      expect(account.ec2("ap-south-1")).toBe(account.ec2("ap-south-1"));
      expect(await gov.organizations().config.region()).toBe("us-gov-west-1");
      expect((await gov.openAccount("111111111111", { kind: "caller" })).globalAccelerator()).toBeNull();
    } finally {
      commercial.destroy();
      gov.destroy();
    }
  });

  it("builds clients with adaptive retry and without a fixed endpoint", async () => {
    const clients = createAwsClientFactory({ credentials: { accessKeyId: "AKIA", secretAccessKey: "s" } });
    try {
      const ec2 = (await clients.openAccount("111111111111", { kind: "caller" })).ec2("us-east-1");
      expect(await ec2.config.retryStrategy()).toHaveProperty("mode", "adaptive");
      expect(ec2.config.isCustomEndpoint).toBe(false);
    } finally {
      clients.destroy();
    }
  });
});
