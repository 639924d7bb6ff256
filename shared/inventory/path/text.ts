// The path in words and as the commands that close it (docs/readme-path.md, "In alerts and
// reports"). Protocol-neutral: it speaks of TCP ports, rules and routes, never of what listens.
// Every value here comes from the cloud APIs of the organization's own accounts, but ids are
// still checked against their documented shapes before they go into a shell command.
import type { ExposurePath } from "../../exposure/model.ts";
import { cidrRange } from "./ranges.ts";

/** One short line: "open: sgr-0abc (sg-0def) admits 0.0.0.0/0; acl-1 #100; rtb-2 -> igw-3". */
export function pathLine(path: ExposurePath): string {
  if (path.verdict !== "open") return `${path.verdict}${path.layer ? ` at ${path.layer}` : ""}: ${path.reason}`;
  const rules =
    (path.rules ?? []).length > 0
      ? (path.rules ?? []).map((rule) => `${rule.ruleId} (${rule.groupId}) admits ${rule.source}`).join(", ")
      : "no security group";
  const parts = [
    `open${path.scope === "restricted" ? " (restricted sources)" : ""}: ${rules}`,
    path.networkAcl ? `${path.networkAcl.networkAclId} #${path.networkAcl.ruleNumber}` : null,
    path.route ? `${path.route.routeTableId} -> ${path.route.target}` : null,
    path.listener ? `${path.listener.type} listener ${path.listener.loadBalancer}:${path.listener.port}` : null,
  ];
  return parts.filter(Boolean).join("; ");
}

/** A few words for a table cell: "open sgr-0abc", "closed network-acl", "unknown". */
export function pathCell(path: ExposurePath | undefined): string {
  if (path === undefined) return "";
  if (path.verdict === "open") {
    const rules = (path.rules ?? []).map((rule) => rule.ruleId);
    return `open ${rules.length > 0 ? rules.join(",") : (path.listener?.loadBalancer ?? "")}`.trim();
  }
  return path.layer ? `${path.verdict} ${path.layer}` : path.verdict;
}

const ID = {
  group: /^sg-[0-9a-f]{1,32}$/,
  rule: /^sgr-[0-9a-f]{1,32}$/,
  acl: /^acl-[0-9a-f]{1,32}$/,
  region: /^[a-z]{2}(-[a-z]+)+-\d+$/,
};

/**
 * What to change, rule by rule, each with the AWS CLI command that does it in the owning account:
 * revoke every security-group rule that admits a public source; without one (a Network Load
 * Balancer without security groups), deny the port in the network ACL just before the entry that allows it.
 */
export function closingSteps(
  path: ExposurePath,
  port: number,
  region: string,
): { change: string; command: string | null }[] {
  if (path.verdict !== "open") return [];
  const regionOk = ID.region.test(region);
  const steps = (path.rules ?? []).map((rule) => ({
    change: `Remove security-group rule ${rule.ruleId} of ${rule.groupId} (admits ${rule.source} on ${rule.protocol === "-1" ? "all ports" : rule.fromPort === rule.toPort ? `TCP ${rule.fromPort}` : `TCP ${rule.fromPort}-${rule.toPort}`})`,
    command:
      ID.group.test(rule.groupId) && ID.rule.test(rule.ruleId) && regionOk
        ? `aws ec2 revoke-security-group-ingress --group-id ${rule.groupId} --security-group-rule-ids ${rule.ruleId} --region ${region}`
        : null,
  }));
  if (steps.length > 0) return steps;
  const acl = path.networkAcl;
  if (acl && typeof acl.ruleNumber === "number" && acl.ruleNumber > 1) {
    const family = acl.source.includes(":") ? "--ipv6-cidr-block" : "--cidr-block";
    return [
      {
        change: `Deny TCP ${port} in network ACL ${acl.networkAclId} before entry ${acl.ruleNumber} (which allows ${acl.source})`,
        command:
          ID.acl.test(acl.networkAclId) && cidrRange(acl.source) !== null && regionOk
            ? `aws ec2 create-network-acl-entry --network-acl-id ${acl.networkAclId} --ingress --rule-number ${acl.ruleNumber - 1} --protocol tcp --port-range From=${port},To=${port} ${family} ${acl.source} --rule-action deny --region ${region}`
            : null,
      },
    ];
  }
  return [];
}
