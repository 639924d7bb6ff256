// The layering docs/architecture.md describes, checked on the source: no import cycle among the modules
// of shared/, functions/, infra/ and cli/, and no import against the direction of the layers (the rules
// and the reports know no probe internals or alert code, the inventory knows no probe, shared/ knows no
// Lambda handler, stack or command). Alerts, remediation and reports take a protocol's words from the
// registry in shared/protocols/, which reaches into a protocol module only for its words (text.ts), and
// those import nothing of the probe but the module's facts (facts.ts). Outside the Redis module, only a
// few neutral files name Redis.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** Each module's relative imports (static, type-only and dynamic), as repository paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ["shared", "functions", "infra", "cli"].flatMap(sources)) {
    const text = readFileSync(join(ROOT, file), "utf8");
    const specifiers = [
      ...text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g),
      ...text.matchAll(/import\("(\.[^"]+)"\)/g),
    ].map((match) => match[1]!);
    graph.set(
      file,
      specifiers.map((specifier) => normalize(join(dirname(file), specifier))),
    );
  }
  return graph;
}

/** Layers a folder must not import from. */
const FORBIDDEN: [string, string[]][] = [
  ["shared/", ["functions/", "infra/", "cli/"]],
  [
    "shared/exposure/",
    [
      "shared/probe/",
      "shared/alerts/",
      "shared/store/",
      "shared/scan/",
      "shared/report/",
      "shared/inventory/",
      "shared/protocols/",
      "shared/remediation/",
    ],
  ],
  ["shared/report/", ["shared/alerts/", "shared/probe/", "shared/scan/"]],
  ["shared/remediation/", ["shared/probe/", "shared/alerts/", "shared/store/", "shared/scan/", "shared/report/"]],
  [
    "shared/protocols/",
    ["shared/alerts/", "shared/store/", "shared/scan/", "shared/report/", "shared/inventory/", "shared/remediation/"],
  ],
  ["shared/inventory/", ["shared/probe/", "shared/alerts/", "shared/scan/", "shared/store/"]],
  ["shared/store/", ["shared/alerts/", "shared/scan/", "shared/probe/", "shared/report/"]],
  ["shared/probe/", ["shared/alerts/", "shared/store/", "shared/scan/", "shared/report/"]],
  ["shared/alerts/", ["shared/scan/", "shared/report/", "shared/probe/"]],
];

/** A protocol module's public files: its words and the facts they read (shared/probe/<name>/...). */
const PROTOCOL_PUBLIC = /^shared\/probe\/[^/]+\/(text|facts)\.ts$/;

/** Files outside the Redis module that may name Redis, and why. */
const NAMES_REDIS = new Map([
  ["shared/exposure/model.ts", "the state names (not-redis, protected-mode) and the default protocol"],
  ["shared/probe/protocols.ts", "the probe's registration line"],
  ["shared/protocols/registry.ts", "the words' registration line"],
  ["cli/exposure.ts", "the demo's help: a lab of real redis-server processes"],
  ["cli/commands/demo.ts", "the demo"],
  ["cli/local-lab.ts", "the demo's lab"],
  ["cli/setup.sh", "the packages the demo and the tests need"],
]);

describe("layering", () => {
  const graph = importGraph();

  it("has no import cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, "visiting");
      path.push(file);
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === "visiting") cycles.push([...path.slice(path.indexOf(next)), next].join(" -> "));
        else if (!state.has(next)) visit(next);
      }
      path.pop();
      state.set(file, "done");
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it("imports only downward", () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const [layer, forbidden] of FORBIDDEN) {
        if (!file.startsWith(layer)) continue;
        for (const target of imports) {
          if (forbidden.some((prefix) => target.startsWith(prefix))) upward.push(`${file} -> ${target}`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it("reaches into a protocol module only for its words, and those import nothing of the probe but its facts", () => {
    const reaches: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports.filter((target) => target.startsWith("shared/probe/"))) {
        if (file.startsWith("shared/protocols/") && !/^shared\/probe\/[^/]+\/text\.ts$/.test(target)) {
          reaches.push(`${file} -> ${target}`);
        }
        if (PROTOCOL_PUBLIC.test(file) && !(PROTOCOL_PUBLIC.test(target) && dirname(target) === dirname(file))) {
          reaches.push(`${file} -> ${target}`);
        }
      }
    }
    expect(reaches).toEqual([]);
    expect(graph.get("shared/protocols/registry.ts")).toContain("shared/probe/redis/text.ts");
  });

  it("names Redis outside the Redis module only in a few neutral files", () => {
    const files = ["shared", "functions", "infra", "cli"].flatMap((dir) =>
      readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
        .filter((entry) => entry.isFile())
        .map((entry) => relative(ROOT, join(entry.parentPath, entry.name))),
    );
    const naming = files.filter(
      (file) => !file.startsWith("shared/probe/redis/") && /redis/i.test(readFileSync(join(ROOT, file), "utf8")),
    );
    expect(naming.sort()).toEqual([...NAMES_REDIS.keys()].sort());
    expect(files).toContain("shared/probe/redis/text.ts");
  });

  it("sees the modules it checks", () => {
    expect(graph.get("shared/alerts/alert.ts")).toContain("shared/remediation/remediation.ts");
    expect(graph.size).toBeGreaterThan(50);
  });
});
