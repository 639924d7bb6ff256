// The protocol modules the probe speaks, by the name a `Target` gives. A second protocol is a
// folder beside redis/ and one line here.
import type { Target } from "../exposure/model.ts";
import type { ProtocolModule } from "./protocol.ts";
import { redis } from "./redis/session.ts";

export const PROTOCOLS: ReadonlyMap<string, ProtocolModule> = new Map([[redis.name, redis]]);

export const DEFAULT_PROTOCOL = redis.name;

/** The port of a target that names none. */
export const DEFAULT_PORT = redis.defaultPort;

/** The module that speaks to a target, or undefined for a protocol the probe does not know. */
export function protocolOf(target: Pick<Target, "protocol">): ProtocolModule | undefined {
  return PROTOCOLS.get(target.protocol ?? DEFAULT_PROTOCOL);
}
