// Records in the shape written before results named their protocol: the Redis facts at `server` (null when
// INFO did not answer) instead of `protocol: { name: "redis", ... }`. The stores must still read them.
import { expect } from "vitest";

type Json = Record<string, unknown>;

function legacySnapshot(snapshot: Json): Json {
  const { protocol, ...rest } = snapshot as Json & { protocol: Json };
  const { name: _name, ...server } = protocol;
  return { ...rest, server: Object.keys(server).length > 0 ? server : null };
}

/** A state record or event (an item, a row's JSON) rewritten into the old shape. */
export function legacyRecord(record: Json): Json {
  const top = "protocol" in record ? legacySnapshot(record) : { ...record };
  if (typeof top.current === "object" && top.current !== null) top.current = legacySnapshot(top.current as Json);
  expect(JSON.stringify(top)).not.toContain('"protocol"');
  return top;
}
