// The member role's policy as README.md and docs/readme-inventory.md print it must be the role the
// stack deploys (infra/member-role-actions.ts): a reader who copies it gets exactly that.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FASTPATH_READ_ACTIONS, INVENTORY_READ_ACTIONS } from "../../infra/member-role-actions.ts";

const MEMBER_ACTIONS = [...new Set([...INVENTORY_READ_ACTIONS, ...FASTPATH_READ_ACTIONS])].sort();

/** The "Action" list of the first JSON block after `heading` in `file`. */
function documentedActions(file: string, heading: string): string[] {
  const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
  const from = text.indexOf(heading);
  expect(from, `${file} has "${heading}"`).toBeGreaterThan(-1);
  const block = /```json\n([\s\S]*?)```/.exec(text.slice(from));
  const policy = JSON.parse(block![1]!) as { Statement: { Action: string[] }[] };
  return policy.Statement.flatMap((statement) => statement.Action).sort();
}

describe("documented member-role policy", () => {
  it("README.md lists exactly the member role's actions", () => {
    expect(documentedActions("README.md", "The read-only role that member accounts need")).toEqual(MEMBER_ACTIONS);
  });

  it("docs/readme-inventory.md lists exactly the member role's actions", () => {
    expect(documentedActions("docs/readme-inventory.md", "### Read-only role in member accounts")).toEqual(
      MEMBER_ACTIONS,
    );
  });
});
