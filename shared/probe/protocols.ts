// The protocol modules the probe speaks, by the name a `Target` gives. A second protocol is a
// folder beside redis/, one line here and one in shared/protocols/registry.ts (its words).
import { DEFAULT_PROTOCOL, type Target } from "../exposure/model.ts";
import type { ProtocolModule } from "./protocol.ts";
import { redis } from "./redis/session.ts";

export const PROTOCOLS: ReadonlyMap<string, ProtocolModule> = new Map([[redis.name, redis]]);

/** The port of a target that names none. */
export const DEFAULT_PORT = (PROTOCOLS.get(DEFAULT_PROTOCOL) as ProtocolModule).defaultPort;

/** The module that speaks to a target, or undefined for a protocol the probe does not know. */
export function protocolOf(target: Pick<Target, "protocol">): ProtocolModule | undefined {
  return PROTOCOLS.get(target.protocol ?? DEFAULT_PROTOCOL);
}
