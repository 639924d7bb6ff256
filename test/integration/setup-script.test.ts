// The set-up behind `npm start` and `npm test` (cli/setup.sh), run for real on a PATH that lacks the
// tools: which Debian packages it decides are missing, the one line it prints when it cannot install
// them, and the install through apt-get (a stand-in apt-get on PATH that records its arguments and
// "installs" stub commands) before the command runs.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const SETUP = join(ROOT, "cli/setup.sh");
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory to use as the whole PATH: `id`, `sh`, Node 22, plus the given stub commands. */
function bareBin(stubs: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "setup-path-"));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  symlinkSync("/usr/bin/id", join(dir, "id"));
  symlinkSync("/bin/sh", join(dir, "sh"));
  symlinkSync(process.execPath, join(dir, "node"));
  for (const name of stubs) stub(dir, name, "exit 0");
  return dir;
}

function stub(dir: string, name: string, body: string): void {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
}

function setup(args: string[], path: string, asNobody = false) {
  const command = asNobody ? "setpriv" : "/bin/sh";
  // nobody may be unable to read the checkout (a clone under a 0700 directory, as mktemp makes):
  // it runs a copy of the script from the world-readable bin directory instead.
  let script = SETUP;
  if (asNobody) {
    script = join(path, "setup.sh");
    copyFileSync(SETUP, script);
    chmodSync(script, 0o755);
  }
  const argv = asNobody
    ? ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", script, ...args]
    : [script, ...args];
  // setpriv itself is found on the caller's PATH; the script sees only `path`.
  return spawnSync(asNobody ? "/usr/bin/setpriv" : command, argv, {
    cwd: ROOT,
    env: { PATH: path, HOME: tmpdir() },
    encoding: "utf8",
  });
}

function requireRoot(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`this test needs root (running as uid ${process.getuid()}); run the tests as root, as CI does`);
  }
}

describe("cli/setup.sh", () => {
  it("lists every package whose command is missing, and only those", () => {
    const none = setup(["--missing", "test"], bareBin());
    expect(none.status).toBe(0);
    expect(none.stdout.trim()).toBe(
      "redis-server redis-tools util-linux chromium iproute2 iptables openssl default-jre-headless nmap",
    );

    const some = setup(["--missing", "test"], bareBin(["redis-server", "nmap", "ip", "java"]));
    expect(some.stdout.trim()).toBe("redis-tools util-linux chromium iptables openssl");

    const start = setup(["--missing", "start"], bareBin(["java"]));
    expect(start.stdout.trim()).toBe("redis-server");

    const all = setup(
      ["--missing", "test"],
      bareBin(["redis-server", "redis-cli", "setpriv", "chromium", "ip", "iptables", "openssl", "java", "nmap"]),
    );
    expect(all.stdout.trim()).toBe("");
  });

  it("without root: one line saying exactly what to install, exit 1, the command not run", () => {
    const bin = bareBin(["java"]);
    const marker = join(bin, "ran");
    // As root, drop to nobody for this run; as another user, that user already cannot install.
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const result = setup(["start", "/usr/bin/touch", marker], bin, isRoot);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      "npm start needs Debian packages that are missing; install them with: sudo apt-get install -y redis-server\n",
    );
    expect(existsSync(marker)).toBe(false);
  });

  it("as root with apt-get: installs what is missing, then runs the command", () => {
    requireRoot();
    const bin = bareBin();
    const log = join(bin, "apt.log");
    // Records each call; `install` creates the commands the packages provide.
    stub(
      bin,
      "apt-get",
      [
        `echo "$*" >> ${log}`,
        'if [ "$1" = update ]; then exit 0; fi',
        'for word in "$@"; do case $word in',
        `  redis-server) printf '#!/bin/sh\\n' > ${bin}/redis-server; /bin/chmod 755 ${bin}/redis-server ;;`,
        `  default-jre-headless) printf '#!/bin/sh\\n' > ${bin}/java; /bin/chmod 755 ${bin}/java ;;`,
        "esac; done",
      ].join("\n"),
    );
    const marker = join(bin, "ran");
    const result = setup(["start", "/usr/bin/touch", marker], bin);
    expect(result.stderr).toContain("installing the missing Debian packages: redis-server\n");
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      "update -qq",
      "install -y -qq --no-install-recommends redis-server",
    ]);
    expect(existsSync(marker)).toBe(true);
  });

  it("as root, when apt-get installs nothing useful: says what is still missing, exit 1", () => {
    requireRoot();
    const bin = bareBin(["java"]);
    stub(bin, "apt-get", "exit 0");
    const marker = join(bin, "ran");
    const result = setup(["start", "/usr/bin/touch", marker], bin);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/still missing after apt-get: redis-server\n$/);
    expect(existsSync(marker)).toBe(false);
  });

  it("rejects an unknown profile with exit 2", () => {
    const result = setup(["deploy", "true"], bareBin());
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^usage: sh cli\/setup.sh start\|test/);
  });
});
