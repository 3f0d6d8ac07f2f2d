/**
 * The prices the estimates use: a table in the repository with its date and
 * source, overridable by settings (REDSHIFT_PRICE_NODE_HOUR,
 * REDSHIFT_PRICE_RPU_HOUR; lib/cost/settings.ts). Nothing is fetched
 * at run time: check the page below and update the table (and its date) when
 * AWS changes its prices.
 *
 * Billing rules the estimator applies (lib/cost/estimate.ts):
 * - Provisioned on-demand nodes are billed per node-hour while the cluster
 *   exists, loading or not (https://aws.amazon.com/redshift/pricing/; the
 *   whitepaper's "Each compute node is billed at an hourly rate",
 *   https://docs.aws.amazon.com/whitepapers/latest/cost-optimization-reservation-models/amazon-redshift-reserved-nodes.html);
 *   partial hours are billed per second.
 * - Redshift Serverless bills compute in RPU-hours, per second, with a
 *   60-second minimum, and nothing while idle
 *   (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html;
 *   "billed for each second, with a 60-second minimum",
 *   https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-express-capacity-billing.html).
 */

export interface PriceTable {
  /** The day the figures were taken from the source. */
  readonly asOf: string;
  readonly source: string;
  readonly region: string;
  /** USD per node-hour, on-demand. */
  readonly nodeHourUsd: Readonly<Record<string, number>>;
  /** USD per RPU-hour, Redshift Serverless on-demand. */
  readonly rpuHourUsd: number;
}

export const PRICES: PriceTable = {
  asOf: '2026-12-07',
  source: 'https://aws.amazon.com/redshift/pricing/',
  region: 'US East (N. Virginia) / US West (Oregon), on-demand',
  nodeHourUsd: {
    'dc2.large': 0.25,
    'dc2.8xlarge': 4.8,
    'ra3.large': 0.543,
    'ra3.xlplus': 1.086,
    'ra3.4xlarge': 3.26,
    'ra3.16xlarge': 13.04,
  },
  rpuHourUsd: 0.375,
};
