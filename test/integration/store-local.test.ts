// The laptop store: DynamoDB Local started by the command, data kept under the store directory.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { JavaMissingError, startLocalDynamo } from "../../shared/store/local-dynamo.ts";
import { openLocalStore } from "../../shared/store/local-store.ts";
import { minutes, observation } from "../helpers/observations.ts";

const storeDir = mkdtempSync(join(tmpdir(), "exposure-store-"));
afterAll(() => rmSync(storeDir, { recursive: true, force: true }));

async function answers(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { method: "POST", signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

describe("local store", () => {
  it("keeps data across restarts and shares one running server between commands", async () => {
    const first = await openLocalStore({ storeDir });
    let second: Awaited<ReturnType<typeof openLocalStore>> | undefined;
    try {
      expect(first.startupMs).toBeGreaterThan(0);
      console.info(`DynamoDB Local (on disk) answered after ${first.startupMs} ms`);
      expect(existsSync(join(storeDir, "dynamodb", "server.json"))).toBe(true);
      const recorded = await first.store.recordObservation(observation("open-unauthenticated", minutes(0)));
      expect(recorded.event?.alerts).toEqual(["newly-unauthenticated"]);

      // A second command on the same directory reuses the running server instead of opening the file again.
      second = await openLocalStore({ storeDir });
      expect(second.endpoint).toBe(first.endpoint);
      expect(second.startupMs).toBe(0);
      expect((await second.store.history("203.0.113.10:6379")).items).toHaveLength(1);
      await second.close();
      second = undefined;
      // Closing the borrower left the owner's server running.
      expect(await first.store.getEndpoint("203.0.113.10:6379")).toMatchObject({ state: "open-unauthenticated" });
    } finally {
      await second?.close();
      await first.close();
    }
    expect(await answers(first.endpoint)).toBe(false);
    expect(existsSync(join(storeDir, "dynamodb", "server.json"))).toBe(false);

    // A command killed before it could stop its server leaves it running: the next command adopts it
    // (and stops it on close) instead of starting a second JVM on the same database file.
    const orphan = await startLocalDynamo({ dataDir: join(storeDir, "dynamodb") });
    try {
      const deadOwner = spawnSync("true").pid!;
      writeFileSync(
        join(storeDir, "dynamodb", "server.json"),
        JSON.stringify({ pid: orphan.pid, ownerPid: deadOwner, endpoint: orphan.endpoint }),
      );
      const adopter = await openLocalStore({ storeDir });
      try {
        expect(adopter.endpoint).toBe(orphan.endpoint);
        expect(adopter.startupMs).toBe(0);
        // The data written before the restart is still there.
        const history = await adopter.store.history("203.0.113.10:6379");
        expect(history.items.map((event) => event.alerts)).toEqual([["newly-unauthenticated"]]);
        const repeat = await adopter.store.recordObservation(observation("open-unauthenticated", minutes(15)));
        expect(repeat.outcome).toBe("unchanged");
      } finally {
        await adopter.close();
      }
      expect(await answers(orphan.endpoint)).toBe(false);
      expect(existsSync(join(storeDir, "dynamodb", "server.json"))).toBe(false);
    } finally {
      await orphan.stop();
    }
  }, 180_000);

  it("says in one line that Java is needed when there is no java on PATH", async () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), "no-java-"));
    try {
      const failure = await startLocalDynamo({ inMemory: true }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(JavaMissingError);
      expect((failure as Error).message).toMatch(/needs Java 17 or newer.*`java` was not found/);
      expect((failure as Error).message).not.toContain("\n");
    } finally {
      rmSync(process.env.PATH, { recursive: true, force: true });
      process.env.PATH = path;
    }
  });

  it("refuses a persistent start without a directory", async () => {
    await expect(startLocalDynamo({})).rejects.toThrow(/needs dataDir/);
  });
});
