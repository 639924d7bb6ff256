// The read-only API actions the inventory (shared/inventory) calls in an account, and nothing else.
// Both the member-account role and the enumerate function's own role (the inventory reads the monitor's
// own account, and the organization's account list, with the caller's credentials) are granted these.

/** Per-account reads: regions, ENIs (incl. IPv6 and public IPs of instances, NAT, ALB/NLB ...), Elastic IPs,
 * Lightsail instances and static IPs, Global Accelerator static addresses; then, for the addresses found,
 * the path from the internet (security-group rules, prefix-list entries, network ACLs, route tables, load
 * balancers and their listeners) and the owners' names and tags (instances, RDS DB instances),
 * docs/readme-path.md. */
export const INVENTORY_READ_ACTIONS = [
  "ec2:DescribeRegions",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeAddresses",
  "lightsail:GetInstances",
  "lightsail:GetStaticIps",
  "globalaccelerator:ListAccelerators",
  "ec2:DescribeSecurityGroupRules",
  "ec2:GetManagedPrefixListEntries",
  "ec2:DescribeNetworkAcls",
  "ec2:DescribeRouteTables",
  "ec2:DescribeInstances",
  "elasticloadbalancing:DescribeLoadBalancers",
  "elasticloadbalancing:DescribeListeners",
  "rds:DescribeDBInstances",
] as const;

/** What the fast path (shared/fastpath/resolve.ts) reads besides the inventory's actions (which include
 * network ACLs and route tables), to turn one event into addresses: prefix-list users, one Lightsail
 * instance, one accelerator. Granted to the member role and to the router function's own role. */
export const FASTPATH_READ_ACTIONS = [
  "ec2:GetManagedPrefixListAssociations",
  "lightsail:GetInstance",
  "globalaccelerator:DescribeAccelerator",
] as const;

/** Listing the organization's accounts: only the enumerate function's own role, never the member roles. */
export const ORGANIZATION_READ_ACTIONS = ["organizations:ListAccounts"] as const;
