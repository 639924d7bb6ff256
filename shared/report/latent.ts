// Latent exposures: endpoints where the configuration opens a path from the whole internet on a
// monitored port but nothing answers (docs/readme-path.md, "Latent exposures and anomalies"). They
// are recorded with every observation's path, never paged; this reads them back per owning account
// (the accounts the recent scans read, or the ones asked for).
import { isLatentExposure } from "../exposure/transitions.ts";
import { allItems, type EndpointState, type ExposureStore } from "../store/store.ts";

const DAY_MS = 86_400_000;

export async function loadLatentExposures(
  store: ExposureStore,
  options: { now: Date; accounts?: readonly string[]; lookbackDays?: number },
): Promise<EndpointState[]> {
  let accounts = options.accounts;
  if (accounts === undefined) {
    const from = new Date(options.now.getTime() - (options.lookbackDays ?? 31) * DAY_MS).toISOString();
    const read = new Set<string>();
    for await (const scan of allItems((cursor) =>
      store.listScans({ from, to: options.now.toISOString() }, cursor ? { cursor } : {}),
    )) {
      for (const accountId of scan.accountsRead) read.add(accountId);
    }
    accounts = [...read];
  }
  const latent: EndpointState[] = [];
  for (const accountId of [...new Set(accounts)].sort()) {
    for await (const state of allItems((cursor) => store.endpointsByOwner(accountId, cursor ? { cursor } : {}))) {
      if (isLatentExposure(state.exposure, state.asset)) latent.push(state);
    }
  }
  return latent.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}
