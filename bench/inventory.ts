// `node bench/inventory.ts [--accounts 50] [--regions 17] [--latency-ms 100] [--http] [--concurrency N] [--max-ratio 5]`
//
// The inventory at organization scale against a fake AWS that answers every call after a fixed
// latency: by default the real client factory with aws-sdk-client-mock (no sockets); with --http
// the real SDK over HTTP against the local fake endpoint (serialization, signing and parsing
// included). Prints the total time next to the slowest single call chain (caller identity ->
// organization pages -> AssumeRole -> DescribeRegions -> interface pages) and their ratio; exits 1
// when the ratio is above --max-ratio (default 5). With --http the fake runs in a child process, so
// that its own XML work does not compete with the SDK for this process's CPU.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { EXIT_FAILURE, EXIT_OK, intOption, parseCommandArgs } from "../cli/args.ts";
import { createAwsClientFactory } from "../shared/inventory/clients.ts";
import type { InventoryConfig } from "../shared/inventory/config.ts";
import { enumeratePublicTargets, type InventoryResult } from "../shared/inventory/enumerate.ts";
import { type FakeHandler, jsonReply, startFakeAws, stsError, xmlReply } from "../test/fixtures/aws/fake-aws-server.ts";
import { callerCredentials, installMockWorld } from "../test/fixtures/aws/mock-world.ts";

const REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "ca-central-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-central-1",
  "eu-north-1",
  "ap-south-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-southeast-1",
  "ap-southeast-2",
  "sa-east-1",
];
const CALLER = "100000000000";
const ACCOUNTS_PER_PAGE = 20; // organizations:ListAccounts returns at most 20 per page
const INTERFACE_PAGES = 2;
const INTERFACES_PER_PAGE = 5;

interface Shape {
  accounts: string[];
  regions: string[];
}

/** A public address unique to (account, region, page, interface): 3.x.y.z onwards, never reserved. */
function publicIp(accountIndex: number, regionIndex: number, page: number, n: number): string {
  const value = ((accountIndex * 32 + regionIndex) * INTERFACE_PAGES + page) * INTERFACES_PER_PAGE + n;
  return `3.${Math.floor(value / 65_536) % 256}.${Math.floor(value / 256) % 256}.${value % 256}`;
}

function accountIdOf(index: number): string {
  return String(100000000000 + index);
}

function interfacesPage(shape: Shape, accountId: string, region: string, page: number) {
  const a = shape.accounts.indexOf(accountId);
  const r = shape.regions.indexOf(region);
  return Array.from({ length: INTERFACES_PER_PAGE }, (_, n) => {
    const ip = publicIp(a, r, page, n);
    return {
      NetworkInterfaceId: `eni-${a.toString(16).padStart(4, "0")}${r.toString(16).padStart(4, "0")}${page}${n}`,
      InterfaceType: "interface" as const,
      Attachment: { InstanceId: `i-${a.toString(16).padStart(6, "0")}${r.toString(16).padStart(4, "0")}${page}${n}` },
      Association: { PublicIp: ip, IpOwnerId: "amazon" },
      PrivateIpAddresses: [
        { Primary: true, PrivateIpAddress: "10.0.0.1", Association: { PublicIp: ip, IpOwnerId: "amazon" } },
      ],
    };
  });
}

/** The organization as aws-sdk-client-mock answers. */
function mockWorld(shape: Shape, latencyMs: number) {
  const listPages = chunk(shape.accounts, ACCOUNTS_PER_PAGE).map((ids, i, all) => ({
    Accounts: ids.map((Id) => ({ Id, State: "ACTIVE" as const })),
    ...(i + 1 < all.length ? { NextToken: `accounts-${i + 1}` } : {}),
  }));
  return installMockWorld({
    latencyMs,
    callerIdentity: { Account: CALLER, Arn: `arn:aws:iam::${CALLER}:user/bench` },
    listAccounts: listPages,
    assumeRole: (accountId) => ({
      Credentials: {
        AccessKeyId: `ASIA${accountId}`,
        SecretAccessKey: "s",
        SessionToken: "t",
        Expiration: new Date(Date.now() + 3_600_000),
      },
    }),
    regions: () => ({
      Regions: shape.regions.map((RegionName) => ({ RegionName, OptInStatus: "opt-in-not-required" })),
    }),
    interfaces: (accountId, region) =>
      Array.from({ length: INTERFACE_PAGES }, (_, page) => ({
        NetworkInterfaces: interfacesPage(shape, accountId, region, page),
        ...(page + 1 < INTERFACE_PAGES ? { NextToken: `interfaces-${page + 1}` } : {}),
      })),
  });
}

/** The organization on the wire, for --http. */
function httpWorld(shape: Shape): FakeHandler {
  const ns = "http://ec2.amazonaws.com/doc/2016-11-15/";
  const accountOf = (accessKeyId: string) => (accessKeyId.startsWith("ASIA") ? accessKeyId.slice(4) : CALLER);
  return (call) => {
    const accountId = accountOf(call.accessKeyId);
    switch (`${call.service}:${call.action}`) {
      case "sts:GetCallerIdentity":
        return xmlReply(
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${CALLER}:user/bench</Arn><UserId>AIDAEXAMPLE</UserId><Account>${CALLER}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
      case "sts:AssumeRole": {
        const target = /iam::(\d{12}):/.exec(call.params.get("RoleArn") ?? "")?.[1];
        if (!target) return stsError("AccessDenied", "bad role");
        const expiration = new Date(Date.now() + 3_600_000).toISOString();
        return xmlReply(
          `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::${target}:assumed-role/R/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>ASIA${target}</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>${expiration}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></AssumeRoleResponse>`,
        );
      }
      case "organizations:ListAccounts": {
        const page = call.json.NextToken ? Number(String(call.json.NextToken).split("-")[1]) : 0;
        const pages = chunk(shape.accounts, ACCOUNTS_PER_PAGE);
        return jsonReply({
          Accounts: (pages[page] ?? []).map((Id) => ({ Id, State: "ACTIVE" })),
          ...(page + 1 < pages.length ? { NextToken: `accounts-${page + 1}` } : {}),
        });
      }
      case "ec2:DescribeRegions":
        return xmlReply(
          `<DescribeRegionsResponse xmlns="${ns}"><requestId>3</requestId><regionInfo>${shape.regions
            .map(
              (r) =>
                `<item><regionName>${r}</regionName><regionEndpoint>ec2.${r}.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>`,
            )
            .join("")}</regionInfo></DescribeRegionsResponse>`,
        );
      case "ec2:DescribeNetworkInterfaces": {
        const page = call.params.get("NextToken") ? Number(call.params.get("NextToken")!.split("-")[1]) : 0;
        const items = interfacesPage(shape, accountId, call.region, page)
          .map(
            (eni) =>
              `<item><networkInterfaceId>${eni.NetworkInterfaceId}</networkInterfaceId><interfaceType>interface</interfaceType><attachment><instanceId>${eni.Attachment.InstanceId}</instanceId></attachment><association><publicIp>${eni.Association.PublicIp}</publicIp><ipOwnerId>amazon</ipOwnerId></association><privateIpAddressesSet><item><privateIpAddress>10.0.0.1</privateIpAddress><primary>true</primary><association><publicIp>${eni.Association.PublicIp}</publicIp><ipOwnerId>amazon</ipOwnerId></association></item></privateIpAddressesSet></item>`,
          )
          .join("");
        const next = page + 1 < INTERFACE_PAGES ? `<nextToken>interfaces-${page + 1}</nextToken>` : "";
        return xmlReply(
          `<DescribeNetworkInterfacesResponse xmlns="${ns}"><requestId>4</requestId><networkInterfaceSet>${items}</networkInterfaceSet>${next}</DescribeNetworkInterfacesResponse>`,
        );
      }
      case "ec2:DescribeAddresses":
        return xmlReply(
          `<DescribeAddressesResponse xmlns="${ns}"><requestId>5</requestId><addressesSet/></DescribeAddressesResponse>`,
        );
      case "lightsail:GetInstances":
        return jsonReply({ instances: [] });
      case "lightsail:GetStaticIps":
        return jsonReply({ staticIps: [] });
      case "globalaccelerator:ListAccelerators":
        return jsonReply({ Accelerators: [] });
      default:
        return jsonReply({ __type: "UnknownOperationException", message: call.action }, 400);
    }
  };
}

function chunk<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

async function timed(config: Partial<InventoryConfig>): Promise<{ ms: number; result: InventoryResult }> {
  const clients = createAwsClientFactory({ credentials: callerCredentials, homeRegion: "us-east-1" });
  const started = performance.now();
  try {
    const result = await enumeratePublicTargets(config, clients);
    return { ms: performance.now() - started, result };
  } finally {
    clients.destroy();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      accounts: { type: "string" },
      regions: { type: "string" },
      "latency-ms": { type: "string" },
      concurrency: { type: "string" },
      "max-ratio": { type: "string" },
      http: { type: "boolean" },
      serve: { type: "boolean" },
    },
    false,
  );
  const accountCount = intOption("accounts", values.accounts, 50, 1, 10_000);
  const regionCount = intOption("regions", values.regions, 17, 1, REGIONS.length);
  const latencyMs = intOption("latency-ms", values["latency-ms"], 100, 0, 10_000);
  const concurrency = intOption("concurrency", values.concurrency, 128, 1, 10_000);
  const maxRatio = intOption("max-ratio", values["max-ratio"], 5, 1, 1_000);
  const shape: Shape = {
    accounts: Array.from({ length: accountCount }, (_, i) => accountIdOf(i)),
    regions: REGIONS.slice(0, regionCount),
  };

  if (values.serve) {
    // Child process of --http: serve the organization until stdin closes; report the call count then.
    const server = await startFakeAws(httpWorld(shape), { latencyMs });
    process.stdout.write(`${server.url}\n`);
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) if (line === "count") process.stdout.write(`${server.calls.length}\n`);
    await server.close();
    return EXIT_OK;
  }

  let calls: () => number | Promise<number>;
  let stop: () => Promise<void> | void;
  if (values.http) {
    const child = spawn(process.execPath, [process.argv[1]!, ...argv.filter((arg) => arg !== "--http"), "--serve"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const nextLine = async () => String((await replies.next()).value ?? "");
    process.env.AWS_ENDPOINT_URL = await nextLine();
    calls = async () => {
      child.stdin!.write("count\n");
      return Number(await nextLine());
    };
    stop = () => {
      child.stdin!.end();
    };
  } else {
    const world = mockWorld(shape, latencyMs);
    calls = () => world.calls.length;
    stop = () => world.restore();
  }

  const listPages = Math.ceil(accountCount / ACCOUNTS_PER_PAGE);
  // Critical path: GetCallerIdentity, ListAccounts pages, AssumeRole, DescribeRegions, interface pages.
  const chainCalls = 1 + listPages + 1 + 1 + INTERFACE_PAGES;
  try {
    // One member account alone, all its regions: the account's own chain, measured.
    const single = await timed({ accounts: { kind: "accounts", accountIds: [accountIdOf(1)] }, concurrency });
    const singleChainMs = single.ms + listPages * latencyMs; // plus the organization pages the full run waits for
    const before = await calls();
    const cpuBefore = process.cpuUsage();
    const full = await timed({ accounts: { kind: "organization" }, concurrency });
    const cpu = process.cpuUsage(cpuBefore);
    const callCount = (await calls()) - before;
    const slowestChainMs = Math.max(chainCalls * latencyMs, singleChainMs);
    const ratio = full.ms / slowestChainMs;
    const s = full.result.summary;
    const report = {
      mode: values.http ? "http (real SDK over HTTP to a fake in a child process)" : "aws-sdk-client-mock",
      accounts: accountCount,
      regions: regionCount,
      latencyMsPerCall: latencyMs,
      concurrency,
      apiCalls: callCount,
      targets: s.counts.targets,
      accountRegionsRead: `${s.counts.accountRegionsRead}/${s.counts.accountRegions}`,
      gaps: s.gaps.length,
      totalMs: Math.round(full.ms),
      chainCalls,
      chainMsByLatency: chainCalls * latencyMs,
      chainMsMeasured: Math.round(singleChainMs),
      ratio: Number(ratio.toFixed(2)),
      maxRatio,
      // CPU this process spent during the full run: the floor for the total on a busy machine.
      cpuMsDuringRun: Math.round((cpu.user + cpu.system) / 1000),
      memoryRssMb: Math.round(process.memoryUsage().rss / 1_048_576),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      `${accountCount} accounts x ${regionCount} regions, ${callCount} calls at ${latencyMs} ms each: ` +
        `${(full.ms / 1000).toFixed(2)} s total vs ${(slowestChainMs / 1000).toFixed(2)} s slowest chain = ${ratio.toFixed(1)}x ` +
        `(${ratio <= maxRatio ? "within" : "ABOVE"} ${maxRatio}x); ${(report.cpuMsDuringRun / 1000).toFixed(2)} s CPU\n`,
    );
    if (s.gaps.length > 0) process.stdout.write(`unexpected gaps: ${JSON.stringify(s.gaps.slice(0, 3))}\n`);
    return ratio <= maxRatio && s.gaps.length === 0 ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench/inventory: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
