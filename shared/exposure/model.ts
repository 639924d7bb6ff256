// The vocabulary every part of the monitor shares: what a probe observed, how exposed that is,
// and who owns the address. Nothing here knows about Lambda, DynamoDB or sockets.

/** What one probe of one host:port concluded (README.md, the state table; docs/readme-probe.md). */
export const PROBE_STATES = [
  "closed", // connection refused (RST to our SYN)
  "filtered", // no answer to SYN before the connect timeout
  "dropped", // TCP accepted, closed without a byte, and not TLS either
  "not-redis", // something else answers (HTTP, SSH, binary)
  "protected-mode", // Redis without a password that refuses non-loopback clients
  "auth-required", // password, ACL or client certificate required
  "busy", // maxclients reached, loading, busy script
  "error", // a Redis-like server answered with another error
  "open-unauthenticated", // INFO answered without credentials
] as const;
export type ProbeState = (typeof PROBE_STATES)[number];

export const EXPOSURES = ["none", "reachable", "unauthenticated"] as const;
export type Exposure = (typeof EXPOSURES)[number];

export function exposureOf(state: ProbeState): Exposure {
  if (state === "closed" || state === "filtered") return "none";
  if (state === "open-unauthenticated") return "unauthenticated";
  return "reachable";
}

/** Higher is worse; used to sort and to compare exposures. */
export function exposureRank(exposure: Exposure): number {
  return EXPOSURES.indexOf(exposure);
}

/**
 * What the protocol module learnt of the server, under the name of the protocol it spoke
 * (docs/readme-probe.md, "Protocol facts"). `name` is always there; the rest only when
 * the server told it. `product`, `version`, `mode` and `role` are the server's identity for the history (a
 * change of any is an event); every other field is the protocol's own, read only by its module.
 */
export interface ProtocolFacts {
  /** The protocol module's name, as a `Target` names it. */
  name: string;
  /** The product that answered, in the module's words; absent when the server said nothing about itself. */
  product?: string;
  version?: string | null;
  mode?: string | null;
  role?: string | null;
  [fact: string]: unknown;
}

/** The protocol of a target that names none, and of records written before results named their protocol. */
export const DEFAULT_PROTOCOL = "redis";

/**
 * A snapshot written before results named their protocol kept the Redis facts at `server` (null when INFO
 * did not answer): read as `protocol: { name: DEFAULT_PROTOCOL, ...server }`. A current one is returned as is.
 */
export function withProtocol<T extends object>(snapshot: T): T {
  if ("protocol" in snapshot || !("server" in snapshot)) return snapshot;
  const { server, ...rest } = snapshot as T & { server: Record<string, unknown> | null };
  return { ...rest, protocol: { ...server, name: DEFAULT_PROTOCOL } } as T;
}

export type Severity = "critical" | "high" | "medium" | "low" | "info";

export interface Finding {
  /** Stable id, e.g. "CVE-2025-49844" or "ioc:rogue-master". */
  id: string;
  kind: "cve" | "compromise";
  severity: Severity;
  title: string;
  /** The INFO line (or version) that shows it. */
  evidence: string;
  /** For a CVE: the release of the server's line (or the next line) that fixes it. */
  fixedIn?: string;
  /**
   * An indicator that alone proves no compromise (a stock server started from /tmp reports that path too):
   * alerts say "suspicious" unless another indicator without this mark is present.
   */
  needsCorroboration?: true;
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  validTo: string | null;
  selfSigned: boolean;
}

/** Who owns a public address, as far as the cloud APIs tell. */
export interface Asset {
  provider: "aws";
  accountId: string;
  region: string;
  resourceType: string;
  resourceId: string;
  name?: string;
  tags?: Record<string, string>;
  /** The owner tags (configured keys such as `team`, `owner`) found on the resource, as tagged. */
  owners?: Record<string, string>;
  /** Why this address is (or is not) reachable from the internet on the target's port (docs/readme-path.md). */
  path?: ExposurePath;
}

/**
 * The path from the internet to one address and port, as the cloud configuration describes it:
 * `open` (a public source passes every layer), `closed` (`layer` stops every public source) or
 * `unknown` (something needed could not be read; `reason` says what).
 */
export type PathVerdict = "open" | "closed" | "unknown";
export type PathLayer = "resource" | "load-balancer" | "security-group" | "network-acl" | "route";

export interface ExposurePath {
  verdict: PathVerdict;
  /** For closed: the layer that stops it; for unknown: the layer that could not be evaluated. */
  layer?: PathLayer;
  /** One line: what decides the verdict. */
  reason: string;
  /** open: "any" when every public source of the address family gets through, else "restricted". */
  scope?: "any" | "restricted";
  /** Security-group rules that admit a public source on the port (only those that let traffic through when open). */
  rules?: PathRule[];
  /** The network ACL ingress entry that allows it (open) or denies it (closed by the ACL). */
  networkAcl?: { networkAclId: string; ruleNumber: number | "*"; action: "allow" | "deny"; source: string };
  /** The route that carries replies to the public source to an internet gateway. */
  route?: { routeTableId: string; main: boolean; destination: string; target: string };
  /** A load balancer's listener on the port, when the address is a load balancer's. */
  listener?: { loadBalancer: string; type: string; protocol: string; port: number };
}

export interface PathRule {
  groupId: string;
  ruleId: string;
  /** "tcp", "-1" (all) ... as the API reports it. */
  protocol: string;
  fromPort: number;
  toPort: number;
  /** The public source: a CIDR, or a prefix list id with its matching entries. */
  source: string;
}

/**
 * What one observation says about an endpoint: the one shape that events, alerts, remediation, reports
 * and ASFF carry (docs/architecture.md, "One shape per concept").
 */
export interface EndpointSnapshot {
  state: ProbeState;
  exposure: Exposure;
  tls: boolean;
  protocol: ProtocolFacts;
  certificate?: CertificateFacts;
}

/** The part of a snapshot an event keeps of the state it replaced. */
export type ExposureLevel = Pick<EndpointSnapshot, "state" | "exposure">;

/** One thing to probe. `host` is an IP literal or a DNS name. */
export interface Target {
  host: string;
  port: number;
  /** The protocol module that speaks to it (shared/probe/protocols.ts); absent means DEFAULT_PROTOCOL. */
  protocol?: string;
  asset?: Asset;
  /**
   * The DNS name `host` (an IP) was resolved from, kept as a label: an endpoint is keyed by its IP, so a
   * name that moves leaves its old address to be confirmed like any other (docs/architecture.md).
   */
  name?: string;
}

/** The outcome of probing one target. This is the JSON line `exposure probe --json` prints. */
export interface ProbeResult {
  target: string;
  ip: string;
  port: number;
  state: ProbeState;
  exposure: Exposure;
  tls: boolean;
  certificate?: CertificateFacts;
  /** The protocol spoken and what it learnt (its facts are the module's: shared/probe/<name>/facts.ts). */
  protocol: ProtocolFacts;
  findings: Finding[];
  /** The first reply, at most 200 printable characters. */
  reply: string;
  durationMs: number;
  observedAt: string;
  asset?: Asset;
  /** The DNS name the address was resolved from (Target.name), when the target was named. */
  name?: string;
}

/**
 * A probe that could not look at its target because of the prober's own side: no route for the address
 * family, no descriptors or buffers, no local address, a resolver failure (docs/readme-probe.md, "Probe
 * errors"). It says nothing about the target: it is never recorded as the endpoint's state (the store takes
 * only a ProbeResult), it is counted per scan as a coverage gap ("probe-error" in countsByState), and the
 * next cycle tries again.
 */
export interface ProbeErrorResult {
  target: string;
  ip: string;
  port: number;
  state: typeof PROBE_ERROR;
  /** Nothing is known about the target's exposure. */
  exposure: null;
  probeError: {
    /** The system error code ("ENETUNREACH", "EMFILE", "ENOTFOUND", ...). */
    code: string;
    /** One line for people ("no route to IPv6 addresses on this machine"). */
    reason: string;
  };
  reply: string;
  durationMs: number;
  observedAt: string;
  asset?: Asset;
}

/** The state a probe error shows in JSON and in a scan's counts; never a ProbeState. */
export const PROBE_ERROR = "probe-error" as const;

/** What one probe gives: an observation of the target, or a probe error. */
export type ProbeOutcome = ProbeResult | ProbeErrorResult;

export function isProbeError(outcome: ProbeOutcome): outcome is ProbeErrorResult {
  return outcome.state === PROBE_ERROR;
}

/** Per-scan counts: every probe state, and probe errors (coverage gaps). */
export type ScanCounts = Partial<Record<ProbeState | typeof PROBE_ERROR, number>>;

/** "203.0.113.10:6379" or "[2001:db8::1]:6379". */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Why an alert goes out (docs/architecture.md, "One notification per change"). */
export type AlertKind = "newly-unauthenticated" | "newly-internet-facing" | "new-finding" | "resolved" | "path-anomaly";

/**
 * One recorded change of an endpoint, immutable once written: the history, and the single
 * source of every alert. `alerts` lists the alert kinds this change raises (often none).
 */
export interface StateChangeEvent {
  /** Deterministic: the same observation recorded twice yields the same id. */
  eventId: string;
  /** "ip:port" or "[ipv6]:port". */
  endpoint: string;
  ip: string;
  port: number;
  /** observedAt of the observation that made the change. */
  at: string;
  previous: ExposureLevel | null;
  current: EndpointSnapshot;
  /** All findings at this observation. */
  findings: Finding[];
  /** Findings not present at the previous recorded state. */
  newFindings: Finding[];
  alerts: AlertKind[];
  asset: Asset | null;
  firstSeenAt: string;
  /** The scan that observed it, when known. */
  scanId?: string;
  /**
   * Set on the one event recorded when an acknowledgement ended by expiry with the endpoint still exposed
   * (docs/readme-acknowledgements.md): not a change of state (`previous` is the current state), a reminder.
   */
  acknowledgementExpired?: { id: string; author: string; reason: string; until: string };
}

/** A coverage gap: an account or region (or a whole source) that could not be read. */
export interface CoverageGap {
  accountId?: string;
  region?: string;
  source: string;
  error: string;
  /** How many gaps this line stands for when a scan record summarises them (shared/exposure/gaps.ts); absent: one. */
  count?: number;
}

/** The per-scan evidence kept for auditors. */
export interface ScanRecord {
  scanId: string;
  startedAt: string;
  completedAt: string | null;
  targets: number;
  shards: number;
  shardsDone: number;
  countsByState: ScanCounts;
  accountsRead: string[];
  regionsRead: string[];
  gaps: CoverageGap[];
}
