// Moved to shared/scan/shards.ts (the domain side of the scan cycle); kept for importers of the old path.
export type { ShardMessage } from "../../shared/scan/shards.ts";
