// How the probe function reaches an address: directly, from outside any VPC. A module of its own so that
// the end-to-end handler test can stand loopback servers in for public addresses (ProbeContext.connectTo,
// test/functions/cycle.test.ts) without a switch in the deployed code.
import type { ProbeContext } from "../../shared/probe/probe.ts";

export const probeContext: ProbeContext = {};
