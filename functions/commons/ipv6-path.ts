// The IPv6 path check of the functions in the dual-stack scanner VPC (probe, fast-probe, armed): when
// PROBE_IPV6_SELF_TEST is set, every invocation first connects to it over IPv6 (shared/probe/self-test.ts)
// and fails when it cannot, so a broken path is retried, dead-lettered and alarmed, and nothing is recorded
// from a scanner that cannot reach IPv6 (docs/readme-probe.md, "IPv6 in AWS").
import { ENV } from "../../shared/function-env.ts";
import { ipv6SelfTest } from "../../shared/probe/self-test.ts";
import { optionalString } from "./config.ts";
import { logger } from "./powertools.ts";

const selfTest = optionalString(ENV.probeIpv6SelfTest);

/** Resolves when there is no self-test to make or it passed; rejects with SelfTestError otherwise. */
export async function checkIpv6Path(): Promise<void> {
  if (selfTest === undefined) return;
  const reached = await ipv6SelfTest(selfTest);
  logger.debug("IPv6 self-test passed", { reached });
}
