// After one account and region's listings: the owners people recognise and the path from the
// internet for every public address found there, each from a few batched reads of that account
// and region (docs/readme-path.md). A read that fails costs only names (recorded in
// `detailErrors`) or makes the affected verdicts `unknown`; it never drops an address.
import type { CoverageGap, ExposurePath } from "../exposure/model.ts";
import { isPublicAddress } from "../net/ip.ts";
import type { AccountClients } from "./clients.ts";
import { evaluatePath, type InterfaceFacts } from "./path/evaluate.ts";
import { readRegionNetwork } from "./path/read.ts";
import type { FoundAddress } from "./readers.ts";
import { dbInstanceOf, isRdsInterface, readDbInstances, readInstanceTags, withOwner } from "./resource-owners.ts";

export interface EnrichOptions {
  ports: readonly number[];
  ownerTagKeys: readonly string[];
  resolvePaths: boolean;
  callTimeoutMs: number;
}

/** A found address with its path per port (when resolved). */
export type EnrichedAddress = FoundAddress & { paths?: Record<number, ExposurePath> };

export async function enrichRegion(
  account: AccountClients,
  region: string,
  found: readonly FoundAddress[],
  options: EnrichOptions,
  detailErrors: CoverageGap[],
): Promise<EnrichedAddress[]> {
  const candidates = found.filter((address) => isPublicAddress(address.ip));
  if (candidates.length === 0) return [...found];
  const where = { accountId: account.accountId, region };
  const fail = (source: string, error: unknown) =>
    detailErrors.push({
      ...where,
      source,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });

  const interfaces = new Map<string, InterfaceFacts>();
  for (const address of candidates) {
    if (address.subject?.kind === "interface")
      interfaces.set(address.subject.iface.networkInterfaceId, address.subject.iface);
  }
  const instanceIds = candidates.flatMap((address) => (address.instanceId ? [address.instanceId] : []));
  const anyRds = [...interfaces.values()].some(isRdsInterface);

  const [network, instanceTags, dbs] = await Promise.all([
    options.resolvePaths
      ? readRegionNetwork(
          { ec2: account.ec2(region), elbv2: () => account.elbv2(region) },
          [...interfaces.values()],
          options.callTimeoutMs,
        )
      : Promise.resolve(null),
    instanceIds.length === 0
      ? Promise.resolve(new Map<string, Record<string, string>>())
      : readInstanceTags(account.ec2(region), instanceIds, options.callTimeoutMs).catch((error) => {
          fail("ec2:DescribeInstances", error);
          return new Map<string, Record<string, string>>();
        }),
    anyRds
      ? readDbInstances(account.rds(region), options.callTimeoutMs).catch((error) => {
          fail("rds:DescribeDBInstances", error);
          return [];
        })
      : Promise.resolve([]),
  ]);

  return found.map((address) => {
    if (!isPublicAddress(address.ip)) return address;
    const iface = address.subject?.kind === "interface" ? address.subject.iface : null;
    const asset = withOwner(
      address.asset,
      {
        ...(address.instanceId ? { instanceTags: instanceTags.get(address.instanceId) } : {}),
        db: iface && isRdsInterface(iface) ? dbInstanceOf(iface, dbs) : null,
      },
      options.ownerTagKeys,
    );
    if (network === null || address.subject === undefined) return { ...address, asset };
    const paths: Record<number, ExposurePath> = {};
    const subject = address.subject;
    for (const port of options.ports) paths[port] = evaluatePath(subject, address.ip, port, network);
    return { ...address, asset, paths };
  });
}
