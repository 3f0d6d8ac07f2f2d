// The cost estimator (lib/cost/estimate.ts) against the billing rules: Redshift
// Serverless per second with a 60-second minimum, provisioned node-hours; the
// dated price table and its overrides; which target the settings name.
import test from 'ava';
import {
  actualCost,
  charge,
  estimateLoad,
  estimateSeconds,
  pricesFor,
  provisionedNodeHours,
  serverlessRpuSeconds,
  type CostTarget,
} from '../lib/cost/estimate.ts';
import { PRICES } from '../lib/cost/prices.ts';
import { loadConfig } from '../lib/config/config.ts';
import { costSettings } from '../lib/cost/settings.ts';

const serverless: CostTarget = { kind: 'serverless', rpus: 8 };
const fourDc2: CostTarget = { kind: 'provisioned', nodeType: 'dc2.large', nodes: 4 };

test('Serverless: RPU-seconds per second, with a 60-second minimum', (t) => {
  t.is(serverlessRpuSeconds(0.4, 8), 480, 'a 0.4 s load is billed 60 s');
  t.is(serverlessRpuSeconds(59.9, 8), 480);
  t.is(serverlessRpuSeconds(60, 8), 480);
  t.is(serverlessRpuSeconds(61.2, 8), 8 * 62, 'per second: a started second counts');
  t.is(serverlessRpuSeconds(3600, 16), 16 * 3600);
  const p = pricesFor(serverless);
  t.is(p.rpuHourUsd, PRICES.rpuHourUsd);
  t.is(charge(3600, serverless, p).usd, 8 * PRICES.rpuHourUsd, 'an hour at 8 RPUs is 8 RPU-hours');
  t.is(
    charge(10, serverless, p).usd,
    Math.round((480 / 3600) * PRICES.rpuHourUsd * 10000) / 10000,
    'ten seconds cost a minute',
  );
});

test('provisioned: node type × nodes × hours (the usual 4 × dc2.large is about $1 an hour)', (t) => {
  t.is(provisionedNodeHours(3600, 4), 4);
  t.is(provisionedNodeHours(1800, 2), 1);
  t.is(provisionedNodeHours(0.2, 1), 1 / 3600, 'per second');
  const p = pricesFor(fourDc2);
  t.is(p.nodeHourUsd, 0.25);
  t.is(charge(3600, fourDc2, p).usd, 1);
  t.is(charge(1800, fourDc2, p).usd, 0.5);
  const est = estimateLoad({ objects: 100, bytes: 1_000_000, statements: 20 }, fourDc2, p);
  t.is(est.hourlyUsd, 1, 'what the cluster costs an hour whether it loads or not');
  t.is(est.rpuSeconds, null);
});

test('the price table is dated and sourced; settings override it; an unknown node type has no price until one is set', (t) => {
  t.regex(PRICES.asOf, /^\d{4}-\d{2}-\d{2}$/);
  t.regex(PRICES.source, /^https:\/\/aws\.amazon\.com\/redshift\/pricing/);
  const odd: CostTarget = { kind: 'provisioned', nodeType: 'zz9.huge', nodes: 2 };
  t.is(charge(3600, odd, pricesFor(odd)).usd, null);
  t.is(charge(3600, odd, pricesFor(odd, { nodeHourUsd: 2 })).usd, 4);
  t.deepEqual(pricesFor(serverless, { rpuHourUsd: 0.5 }).overriddenBy, ['REDSHIFT_PRICE_RPU_HOUR']);
  const env = {
    DATABASE_URL: 'redshift-data://sparkify-wg/dev',
    REDSHIFT_PRICE_RPU_HOUR: '0.5',
    REDSHIFT_BASE_CAPACITY: '16',
  };
  const s = costSettings(env, loadConfig(env));
  t.deepEqual(s.target, { kind: 'serverless', rpus: 16 });
  t.is(s.prices.rpuHourUsd, 0.5);
  t.throws(() => costSettings({ REDSHIFT_PRICE_NODE_HOUR: 'cheap' }, loadConfig({})), {
    message: /REDSHIFT_PRICE_NODE_HOUR: a price in USD/,
  });
});

test('the target follows the settings: a workgroup, a cluster, a Redshift host, --dialect redshift, else PostgreSQL', (t) => {
  const target = (env: Record<string, string>, dialect?: 'redshift' | 'postgres') =>
    costSettings(env, loadConfig(env), dialect).target;
  t.deepEqual(
    target({
      DATABASE_URL: 'redshift-data://cluster:sparkify-cluster/dev',
      REDSHIFT_NODE_TYPE: 'dc2.large',
      REDSHIFT_NODES: '4',
    }),
    fourDc2,
  );
  t.deepEqual(
    target({ DATABASE_URL: 'postgres://u@wg.123456789012.us-west-2.redshift-serverless.amazonaws.com:5439/dev' }),
    serverless,
  );
  t.deepEqual(target({ DATABASE_URL: 'postgres://u@c.abc.us-west-2.redshift.amazonaws.com:5439/dev' }), {
    kind: 'provisioned',
    nodeType: 'ra3.large',
    nodes: 2,
  });
  t.deepEqual(target({}, 'redshift'), { kind: 'provisioned', nodeType: 'ra3.large', nodes: 2 });
  t.deepEqual(target({}), { kind: 'postgres' });
  t.is(charge(100, { kind: 'postgres' }, pricesFor({ kind: 'postgres' })).usd, 0);
});

test('the throughput model: more objects or bytes take longer, more slices take less; a short Serverless load is billed its minute', (t) => {
  const work = { objects: 10_000, bytes: 50_000_000, statements: 30 };
  const base = estimateSeconds(work, fourDc2);
  t.true(estimateSeconds({ ...work, objects: 20_000 }, fourDc2) > base);
  t.true(estimateSeconds({ ...work, bytes: 100_000_000 }, fourDc2) > base);
  t.true(estimateSeconds(work, { ...fourDc2, nodes: 8 }) < base);
  t.true(estimateSeconds(work, { kind: 'postgres' }) < base, 'no round trip to AWS per statement');
  const tiny = estimateLoad({ objects: 2, bytes: 1000, statements: 4 }, serverless, pricesFor(serverless));
  t.true(tiny.seconds < 60);
  t.is(tiny.rpuSeconds, 480);
  // After the run: charged seconds from SYS_SERVERLESS_USAGE win over the measured duration.
  t.like(actualCost(12.3, serverless, pricesFor(serverless), 640), {
    rpuSeconds: 640,
    basis: 'sys_serverless_usage',
    seconds: 12.3,
  });
  t.like(actualCost(12.3, serverless, pricesFor(serverless), undefined), {
    rpuSeconds: 480,
    basis: 'measured duration',
  });
});
