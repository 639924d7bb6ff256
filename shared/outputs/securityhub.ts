// State changes imported into Security Hub as findings (BatchImportFindings, the monitor account's own
// default product). One finding per endpoint, updated on every change; it is owned by the monitor
// account (Security Hub accepts a product's findings only for its own account) and names the target's
// account and resource in Resources and ProductFields; a resolution archives it (RecordState ARCHIVED).
// The finding is the same ASFF the `exposure findings --format asff` export prints (shared/report/asff.ts).
import { BatchImportFindingsCommand, type SecurityHubClient } from "@aws-sdk/client-securityhub";
import { awsDeliveryError, DeliveryError } from "../alerts/retry.ts";
import type { StateChangeEvent } from "../exposure/model.ts";
import { type AsffFinding, toAsff } from "../report/asff.ts";
import { endpointRemediation } from "../report/remediation.ts";
import type { EventPublisher } from "./publish.ts";

export interface SecurityHubTarget {
  /** The monitor account: it owns the product and every finding. */
  accountId: string;
  region: string;
}

export function findingOfEvent(event: StateChangeEvent, target: SecurityHubTarget): AsffFinding {
  const finding = toAsff(
    {
      ...event.current,
      endpoint: event.endpoint,
      ip: event.ip,
      port: event.port,
      findings: event.findings,
      asset: event.asset,
      since: event.at,
      firstSeenAt: event.firstSeenAt,
      lastObservedAt: event.at,
      remediation: endpointRemediation({
        port: event.port,
        current: event.current,
        findings: event.findings,
        asset: event.asset,
      }),
    },
    { securityHubAccountId: target.accountId, region: target.region },
  );
  return {
    ...finding,
    AwsAccountId: target.accountId,
    ProductFields: {
      ...finding.ProductFields,
      ...(event.asset
        ? {
            "exposure-monitor/target-account": event.asset.accountId,
            "exposure-monitor/target-region": event.asset.region,
            "exposure-monitor/target-resource": event.asset.resourceId.slice(0, 1024),
          }
        : {}),
    },
  };
}

export class SecurityHubPublisher implements EventPublisher {
  readonly name: string;
  readonly #client: SecurityHubClient;
  readonly #target: SecurityHubTarget;

  constructor(options: { client: SecurityHubClient } & SecurityHubTarget) {
    this.name = `securityhub:${options.accountId}:${options.region}`;
    this.#client = options.client;
    this.#target = { accountId: options.accountId, region: options.region };
  }

  async publish(event: StateChangeEvent): Promise<void> {
    const finding = findingOfEvent(event, this.#target);
    let output: { FailedCount?: number; FailedFindings?: { ErrorCode?: string; ErrorMessage?: string }[] };
    try {
      output = await this.#client.send(new BatchImportFindingsCommand({ Findings: [finding] }));
    } catch (error) {
      throw awsDeliveryError("Security Hub BatchImportFindings", error);
    }
    // A 200 answer can still reject the finding (FailedFindings): that is a failure, never a success.
    if ((output.FailedCount ?? 0) > 0) {
      const failed = output.FailedFindings?.[0];
      throw new DeliveryError(
        `Security Hub BatchImportFindings: finding rejected: ${failed?.ErrorCode ?? "unknown"}: ${failed?.ErrorMessage ?? ""}`.trim(),
        { retryable: /Throttl|Internal|LimitExceeded/i.test(failed?.ErrorCode ?? "") },
      );
    }
  }
}
