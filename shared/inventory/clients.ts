// Builds the AWS SDK clients the inventory reads with: one per service, account and region,
// created once and reused. Member accounts are read with credentials from sts:AssumeRole,
// cached until shortly before they expire. Endpoints are never set here, so the SDK's own
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> settings apply (that is how tests point it at a fake).
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GlobalAcceleratorClient } from "@aws-sdk/client-global-accelerator";
import { LightsailClient } from "@aws-sdk/client-lightsail";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { RDSClient } from "@aws-sdk/client-rds";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { callWithDeadline } from "../deadline.ts";

export interface AccountClients {
  readonly accountId: string;
  ec2(region: string): EC2Client;
  lightsail(region: string): LightsailClient;
  /** Load balancers and their listeners (the path resolver). */
  elbv2(region: string): ElasticLoadBalancingV2Client;
  /** RDS DB instances (names for public RDS interfaces). */
  rds(region: string): RDSClient;
  /** Global Accelerator is a global service whose API lives in us-west-2; null where the partition has none. */
  globalAccelerator(): GlobalAcceleratorClient | null;
}

/** How an account is entered: with the caller's own credentials, or through a role. */
export type AccountAccess = { kind: "caller" } | { kind: "assume-role"; roleArn: string; externalId: string | null };

/** Everything the enumeration needs from AWS; tests and the benchmark pass the real one with mocked clients. */
export interface InventoryClientFactory {
  /** Where account-level calls go (ec2:DescribeRegions, STS). */
  readonly homeRegion: string;
  /** STS with the caller's credentials (GetCallerIdentity, AssumeRole). */
  sts(): STSClient;
  organizations(): OrganizationsClient;
  /** Clients for one account. For a role, assumes it once up front so that a denial is known before fan-out. */
  openAccount(accountId: string, access: AccountAccess): Promise<AccountClients>;
  destroy(): void;
}

export interface AwsClientFactoryOptions {
  /** Caller credentials; the SDK's default provider chain when absent. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Region for STS; AWS_REGION (then us-east-1) when absent. */
  homeRegion?: string;
  /** Attempts per call with adaptive retry (client-side rate limiting on throttling). */
  maxAttempts?: number;
  /** Deadline for one sts:AssumeRole call, retries included. */
  callTimeoutMs?: number;
  /** Socket connect and idle timeouts for one attempt. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Sockets per host shared by all clients (they all talk to a few hosts in parallel). */
  maxSockets?: number;
  roleSessionName?: string;
  now?: () => number;
}

/** Assumed-role credentials are renewed this long before they expire. */
export const CREDENTIAL_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Where the global services' APIs live in the partition of `homeRegion`: Organizations has one
 * endpoint per partition, Global Accelerator exists only in the commercial partition.
 */
export function globalServiceRegions(homeRegion: string): { organizations: string; globalAccelerator: string | null } {
  if (homeRegion.startsWith("cn-")) return { organizations: "cn-northwest-1", globalAccelerator: null };
  if (homeRegion.startsWith("us-gov-")) return { organizations: "us-gov-west-1", globalAccelerator: null };
  return { organizations: "us-east-1", globalAccelerator: "us-west-2" };
}

export function createAwsClientFactory(options: AwsClientFactoryOptions = {}): InventoryClientFactory {
  const homeRegion = options.homeRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const now = options.now ?? Date.now;
  const maxSockets = options.maxSockets ?? 256;
  const agentOptions = { keepAlive: true, maxSockets };
  const shared = {
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 20_000,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  } as const;
  const callerCredentials = options.credentials;
  const globalRegions = globalServiceRegions(homeRegion);
  const clients = new Map<string, { destroy(): void }>();

  function cached<C extends { destroy(): void }>(key: string, build: () => C): C {
    let client = clients.get(key) as C | undefined;
    if (client === undefined) {
      client = build();
      clients.set(key, client);
    }
    return client;
  }

  const sts = () =>
    cached("sts", () => new STSClient({ ...shared, region: homeRegion, credentials: callerCredentials }));
  // The caller's credentials resolved once (by the STS client, from the default chain when none were
  // given) and shared, so hundreds of clients do not each walk the provider chain.
  const callerProvider = (): AwsCredentialIdentityProvider => sts().config.credentials;
  const organizations = () =>
    cached(
      "organizations",
      () => new OrganizationsClient({ ...shared, region: globalRegions.organizations, credentials: callerProvider() }),
    );

  function accountClients(accountId: string, credentials: AwsCredentialIdentityProvider | undefined): AccountClients {
    const key = (service: string, region: string) => `${service}/${accountId}/${region}`;
    return {
      accountId,
      ec2: (region) => cached(key("ec2", region), () => new EC2Client({ ...shared, region, credentials })),
      lightsail: (region) =>
        cached(key("lightsail", region), () => new LightsailClient({ ...shared, region, credentials })),
      elbv2: (region) =>
        cached(key("elbv2", region), () => new ElasticLoadBalancingV2Client({ ...shared, region, credentials })),
      rds: (region) => cached(key("rds", region), () => new RDSClient({ ...shared, region, credentials })),
      globalAccelerator: () => {
        const region = globalRegions.globalAccelerator;
        if (region === null) return null;
        return cached(
          key("globalaccelerator", region),
          () => new GlobalAcceleratorClient({ ...shared, region, credentials }),
        );
      },
    };
  }

  const roleProviders = new Map<string, AwsCredentialIdentityProvider>();

  return {
    homeRegion,
    sts,
    organizations,
    async openAccount(accountId, access) {
      if (access.kind === "caller") {
        return accountClients(accountId, callerProvider());
      }
      const providerKey = `${access.roleArn}|${access.externalId ?? ""}`;
      let provider = roleProviders.get(providerKey);
      if (provider === undefined) {
        provider = assumedRoleCredentials({
          sts: sts(),
          roleArn: access.roleArn,
          externalId: access.externalId,
          sessionName: options.roleSessionName ?? "exposure-monitor-inventory",
          callTimeoutMs: options.callTimeoutMs ?? 30_000,
          now,
        });
        roleProviders.set(providerKey, provider);
      }
      await provider(); // a denial surfaces here, once per account
      return accountClients(accountId, provider);
    },
    destroy() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
      roleProviders.clear();
      shared.requestHandler.httpAgent.destroy();
      shared.requestHandler.httpsAgent.destroy();
    },
  };
}

/**
 * A credential provider for one role: calls sts:AssumeRole on first use and again when the
 * credentials are within CREDENTIAL_REFRESH_MARGIN_MS of expiry. Concurrent callers share one call;
 * a failed call is not cached, so the next use tries again.
 */
export function assumedRoleCredentials(params: {
  sts: STSClient;
  roleArn: string;
  externalId: string | null;
  sessionName: string;
  callTimeoutMs: number;
  now?: () => number;
}): AwsCredentialIdentityProvider {
  const now = params.now ?? Date.now;
  let current: AwsCredentialIdentity | undefined;
  let inFlight: Promise<AwsCredentialIdentity> | undefined;

  async function assume(): Promise<AwsCredentialIdentity> {
    const output = await callWithDeadline(params.callTimeoutMs, (abortSignal) =>
      params.sts.send(
        new AssumeRoleCommand({
          RoleArn: params.roleArn,
          RoleSessionName: params.sessionName,
          ...(params.externalId === null ? {} : { ExternalId: params.externalId }),
        }),
        { abortSignal },
      ),
    );
    const credentials = output.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
      throw new Error(`sts:AssumeRole for ${params.roleArn} returned no credentials`);
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
    };
  }

  return async () => {
    const fresh =
      current !== undefined &&
      (current.expiration === undefined || current.expiration.getTime() - now() > CREDENTIAL_REFRESH_MARGIN_MS);
    if (fresh) return current!;
    inFlight ??= assume().finally(() => {
      inFlight = undefined;
    });
    current = await inFlight;
    return current;
  };
}
