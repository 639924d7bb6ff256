// The read-only API actions the inventory (shared/inventory) calls in an account, and nothing else.
// Both the member-account role and the enumerate function's own role (which reads the monitor's own
// account with its own credentials) are granted exactly this list.

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

/** Listing the organization's accounts: only where the list is read (management or delegated admin account). */
export const ORGANIZATION_READ_ACTIONS = ["organizations:ListAccounts"] as const;
