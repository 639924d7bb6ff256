// The read-only API actions the inventory (shared/inventory) calls in an account, and nothing else.
// Both the member-account role and the enumerate function's own role (the inventory reads the monitor's
// own account, and the organization's account list, with the caller's credentials) are granted these.

/** Per-account reads: regions, ENIs (incl. IPv6 and public IPs of instances, NAT, ALB/NLB ...), Elastic IPs,
 * Lightsail instances and static IPs, Global Accelerator static addresses. */
export const INVENTORY_READ_ACTIONS = [
  "ec2:DescribeRegions",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeAddresses",
  "lightsail:GetInstances",
  "lightsail:GetStaticIps",
  "globalaccelerator:ListAccelerators",
] as const;

/** Listing the organization's accounts: only the enumerate function's own role, never the member roles. */
export const ORGANIZATION_READ_ACTIONS = ["organizations:ListAccounts"] as const;
