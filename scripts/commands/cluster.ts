/**
 * npm run cluster -- create|status|delete|extend|sweep [--serverless] [--dry-run] [--write-env] [--write-config FILE] [--yes] [--skip-final-snapshot]
 *                    [--ttl 4h] [--max-rpu-hours 32]
 */
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Argv, CommandModule } from 'yargs';
import type { AwsClients, ClusterContext } from '../../lib/aws/cluster.ts';
import { DEFAULT_TTL, describeLease, leaseJson, leaseOf, parseTtl, type AnyTag } from '../../lib/aws/lease.ts';
import { dataApiSetting, type DataApiSetting } from '../../lib/config/data-api.ts';
import type { Logger } from '../../lib/log.ts';
import { loadClusterConfig } from '../../lib/config/config.ts';
import { setEnvValues } from '../../lib/config/env-file-writer.ts';
import { setIniValues } from '../../lib/config/ini-file-writer.ts';
import { ConfigError } from '../../lib/errors.ts';
import { formatTable } from './format-table.ts';
import {
  commonOptions,
  createRunLogger,
  environment,
  formatOption,
  print,
  printJson,
  runCommand,
  type CommonArgs,
  type FormatArgs,
} from './common.ts';

interface ClusterArgs extends CommonArgs, FormatArgs {
  action: 'create' | 'status' | 'delete' | 'extend' | 'sweep';
  /** create, extend: how long until the lease expires (lib/aws/lease.ts); default 4h. */
  ttl?: string;
  /** create --serverless: the workgroup's daily RPU-hours usage limit; 0: none. Default 32. */
  maxRpuHours?: number;
  dryRun: boolean;
  writeEnv: boolean;
  /** A dwh.cfg to write the connection and the role into (--write-config). */
  writeConfig?: string | undefined;
  yes: boolean;
  skipFinalSnapshot: boolean;
  /** Redshift Serverless (namespace + workgroup) instead of a provisioned cluster. */
  serverless?: boolean;
}

async function awsClients(region: string): Promise<AwsClients> {
  const [{ IAMClient }, { RedshiftClient }, { EC2Client }, { RedshiftServerlessClient }] = await Promise.all([
    import('@aws-sdk/client-iam'),
    import('@aws-sdk/client-redshift'),
    import('@aws-sdk/client-ec2'),
    import('@aws-sdk/client-redshift-serverless'),
  ]);
  return {
    iam: new IAMClient({ region }),
    redshift: new RedshiftClient({ region }),
    ec2: new EC2Client({ region }),
    serverless: new RedshiftServerlessClient({ region }),
  };
}

async function confirm(clusterId: string): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new ConfigError([
      `cluster delete removes ${clusterId} and its IAM role: add --yes to confirm when not at a terminal`,
    ]);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`Delete cluster ${clusterId} and its IAM role? Type the cluster name to confirm: `);
  rl.close();
  return answer.trim() === clusterId;
}

export interface ClusterRun {
  readonly clients?: AwsClients;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock leases are read against (tests: a fake one). */
  readonly now?: () => number;
}

/** `expires 2026-12-07 07:00 UTC (in 4h 0m)`: the lease a create gives. */
const leaseLine = (createdAt: number, ttl: number, now: number): string =>
  describeLease({ expiresAt: new Date(Math.floor((createdAt + ttl) / 1000) * 1000) }, now);

/** --ttl in milliseconds (checked by the option's check too). */
function ttlMs(args: ClusterArgs): number {
  const ms = parseTtl(args.ttl ?? DEFAULT_TTL);
  if (ms === undefined)
    throw new ConfigError([
      `--ttl: a duration such as 90m, 4h, 1h30m or 2d (1 minute to 30 days), got '${args.ttl ?? ''}'`,
    ]);
  return ms;
}

/** The command body; tests call it with mocked AWS clients. */
export async function runClusterCommand(args: ClusterArgs, deps: ClusterRun = {}): Promise<number | void> {
  // Loaded here, not at start-up: every other command would pay for the AWS SDK clients.
  const { clusterStatus, createCluster, deleteCluster, findRole } = await import('../../lib/aws/cluster.ts');
  const { warnExpired } = await import('../../lib/aws/sweep.ts');
  const log = createRunLogger(args);
  const envFile = path.resolve(args.envFile);
  const env = environment(args, log, { envFile: args.writeEnv, configFile: args.writeConfig });
  const config = loadClusterConfig(env);
  log.secret(config.password);
  const ctx: ClusterContext = {
    config,
    clients: deps.clients ?? (await awsClients(config.region)),
    log,
    dryRun: args.dryRun,
    calls: [],
    ...(deps.sleep ? { sleep: deps.sleep, pollMs: 1 } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  };
  const printPlan = () => printCalls(ctx);
  if (args.action === 'sweep') return runSweep(args, ctx);
  if (
    args.action === 'delete' &&
    !args.dryRun &&
    !args.yes &&
    !(await confirm(args.serverless ? config.workgroup : config.clusterId))
  ) {
    print('Not confirmed: nothing deleted.');
    return 1;
  }
  // Every command that talks to AWS says which of the tool's resources are past their lease (sweep lists them itself).
  if (!args.dryRun) await warnExpired(ctx);
  if (args.action === 'extend') return runExtend(args, ctx);
  const now = ctx.now ?? Date.now;
  if (args.serverless) return runServerless(args, ctx, env, envFile);
  switch (args.action) {
    case 'create': {
      if (!args.dryRun && !config.password && !args.writeEnv && !args.writeConfig) {
        throw new ConfigError([
          'REDSHIFT_PASSWORD is not set: add --write-env (or --write-config dwh.cfg) so the generated master password is kept in .env (or the dwh.cfg; it is never printed), or set REDSHIFT_PASSWORD (or [DWH] DWH_DB_PASSWORD)',
        ]);
      }
      const createdAt = now();
      const result = await createCluster(ctx, { ttlMs: ttlMs(args) });
      if (args.dryRun) return printPlan();
      print(
        `Lease: ${leaseLine(createdAt, ttlMs(args), now())} for what this run created (a reused cluster keeps its own); \`cluster extend --ttl\` renews it, \`cluster sweep --yes\` deletes what has expired.`,
      );
      const host = result.endpoint ? `${result.endpoint.host}:${result.endpoint.port}` : '(pending)';
      print(
        `Cluster ${config.clusterId}: ${result.reused.cluster ? 'reused' : 'created'}; IAM role ${config.roleName}: ${result.reused.role ? 'reused' : 'created'}.`,
      );
      print(`IAM_ROLE_ARN=${result.roleArn}`);
      print(`DATABASE_URL=postgres://${config.user}:<REDSHIFT_PASSWORD>@${host}/${config.database}?sslmode=require`);
      if (args.writeEnv) {
        const password = result.generatedPassword ?? config.password;
        await setEnvValues(envFile, {
          IAM_ROLE_ARN: result.roleArn,
          ...(password && result.endpoint
            ? {
                DATABASE_URL: `postgres://${config.user}:${encodeURIComponent(password)}@${host}/${config.database}?sslmode=require`,
              }
            : {}),
          ...(result.generatedPassword ? { REDSHIFT_PASSWORD: result.generatedPassword } : {}),
        });
        print(
          `Wrote IAM_ROLE_ARN${password ? ', DATABASE_URL' : ''}${result.generatedPassword ? ' and the generated REDSHIFT_PASSWORD' : ''} to ${envFile}.`,
        );
      }
      if (args.writeConfig) {
        const file = path.resolve(args.writeConfig);
        const password = result.generatedPassword ?? config.password;
        // The seed's sections and keys (lib/config/dwh-cfg.ts reads them back).
        await setIniValues(file, {
          CLUSTER: {
            ...(result.endpoint ? { HOST: result.endpoint.host, DB_PORT: String(result.endpoint.port) } : {}),
            DB_NAME: config.database,
            DB_USER: config.user,
            ...(password ? { DB_PASSWORD: password } : {}),
          },
          IAM_ROLE: { ARN: result.roleArn },
          ...(result.generatedPassword ? { DWH: { DWH_DB_PASSWORD: result.generatedPassword } } : {}),
        });
        print(
          `Wrote [CLUSTER]${result.endpoint ? ' HOST, DB_PORT,' : ''} DB_NAME, DB_USER${password ? ', DB_PASSWORD' : ''}, [IAM_ROLE] ARN${result.generatedPassword ? ' and the generated [DWH] DWH_DB_PASSWORD' : ''} to ${file}.`,
        );
      }
      return;
    }
    case 'status': {
      const database = args.dryRun ? undefined : configuredDataApi(env);
      if (database) return dataApiStatus(database, config.region, log, args.format === 'json');
      const cluster = await clusterStatus(ctx);
      if (args.dryRun) return printPlan();
      const lease = leaseOf(cluster?.Tags);
      const roleLease = cluster ? leaseOf((await findRole(ctx))?.Tags) : undefined;
      if (args.format === 'json') {
        const found = cluster
          ? {
              cluster: cluster.ClusterIdentifier,
              state: cluster.ClusterStatus,
              endpoint: cluster.Endpoint ? { address: cluster.Endpoint.Address, port: cluster.Endpoint.Port } : null,
              nodeType: cluster.NodeType,
              nodes: cluster.NumberOfNodes,
              iamRoles: (cluster.IamRoles ?? []).map((r) => r.IamRoleArn),
              lease: leaseJson(lease, now()),
              roleLease: leaseJson(roleLease, now()),
            }
          : {};
        printJson({ exists: Boolean(cluster), clusterId: config.clusterId, region: config.region, ...found });
        return cluster ? undefined : 1;
      }
      if (!cluster) {
        print(`Cluster ${config.clusterId} does not exist (region ${config.region}).`);
        return 1;
      }
      print(
        formatTable([
          {
            cluster: cluster.ClusterIdentifier,
            state: cluster.ClusterStatus,
            endpoint: cluster.Endpoint ? `${cluster.Endpoint.Address}:${cluster.Endpoint.Port}` : '',
            node_type: cluster.NodeType,
            nodes: cluster.NumberOfNodes,
            roles: (cluster.IamRoles ?? []).map((r) => r.IamRoleArn).join(', '),
          },
        ]),
      );
      print(`Lease: ${describeLease(lease, now())}.`);
      return;
    }
    case 'delete': {
      const deleted = await deleteCluster(ctx, { skipFinalSnapshot: args.skipFinalSnapshot });
      if (args.dryRun) return printPlan();
      print(
        `Cluster ${config.clusterId}: ${deleted.cluster ? 'deleted' : 'did not exist'}; IAM role ${config.roleName}: ${deleted.role ? 'deleted' : 'did not exist'}.`,
      );
      return;
    }
    default: {
      const never: never = args.action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

/** `status` with the Data API configured: whether it reaches the workgroup or cluster (select version() in a session). */
/** The Data API setting alone (the load's other settings need not be valid for a status). */
function configuredDataApi(env: Readonly<Record<string, string | undefined>>): DataApiSetting | undefined {
  const problems: string[] = [];
  const url = env['DATABASE_URL']?.trim() || undefined;
  const setting = dataApiSetting(env, url, problems);
  if (setting && problems.length > 0) throw new ConfigError(problems);
  return setting;
}

interface DataApiReach {
  readonly target: string;
  readonly reachable: boolean;
  readonly version?: string;
  readonly error?: string;
}

/** Whether the Data API reaches the configured workgroup or cluster: one `select version()`. */
async function dataApiReach(setting: DataApiSetting, region: string, log: Logger): Promise<DataApiReach> {
  const [{ connectDataApi, createDataApiClient }, { describeDataApi }] = await Promise.all([
    import('../../lib/db/data-api-connection.ts'),
    import('../../lib/config/data-api.ts'),
  ]);
  const client = createDataApiClient(setting, region);
  const conn = connectDataApi({ setting, client, log, statementTimeoutMs: 120_000 });
  const target = describeDataApi(setting);
  try {
    const { rows } = await conn.query<{ version: string }>('select version() as version');
    return {
      target,
      reachable: true,
      version: String(rows[0]?.version ?? '').replace(/^.*(Redshift [\d.]+).*$/, '$1'),
    };
  } catch (err) {
    return { target, reachable: false, error: `${(err as Error).name}: ${(err as Error).message}` };
  } finally {
    await conn.end().catch(() => undefined);
    client.destroy();
  }
}

/** cluster status through the Data API: a line, or with --format json `{"dataApi": {...}}`; exit 1 when not reachable. */
async function dataApiStatus(
  setting: DataApiSetting,
  region: string,
  log: Logger,
  json: boolean,
): Promise<number | void> {
  const reach = await dataApiReach(setting, region, log);
  if (json) printJson({ dataApi: reach });
  else
    print(
      reach.reachable
        ? `${reach.target}: reachable (${reach.version ?? ''}).`
        : `${reach.target}: not reachable: ${reach.error ?? ''}`,
    );
  return reach.reachable ? undefined : 1;
}

/** A dry run's output: every AWS call it would make, in order. */
function printCalls(ctx: ClusterContext): void {
  print(`Plan (${ctx.calls.length} AWS calls; nothing was called):`);
  for (const [i, c] of ctx.calls.entries())
    print(`${String(i + 1).padStart(2)}. ${c.service} ${c.command} ${JSON.stringify(c.params)}`);
}

/** create|status|delete --serverless: the namespace and workgroup (lib/aws/serverless.ts). */
async function runServerless(
  args: ClusterArgs,
  ctx: ClusterContext,
  env: Readonly<Record<string, string | undefined>>,
  envFile: string,
): Promise<number | void> {
  const { createServerless, deleteServerless, findNamespace, findWorkgroup, serverlessTags } = await import(
    '../../lib/aws/serverless.ts'
  );
  const { config, log } = ctx;
  const now = ctx.now ?? Date.now;
  const printPlan = () => printCalls(ctx);
  const databaseUrl = `redshift-data://${config.workgroup}/${config.database}`;
  switch (args.action) {
    case 'create': {
      const createdAt = now();
      const result = await createServerless(ctx, { ttlMs: ttlMs(args), maxRpuHours: args.maxRpuHours ?? 32 });
      if (args.dryRun) return printPlan();
      const said = (reused: boolean) => (reused ? 'reused' : 'created');
      print(
        `Namespace ${config.namespace}: ${said(result.reused.namespace)}; workgroup ${config.workgroup}: ${said(result.reused.workgroup)}; IAM role ${config.roleName}: ${said(result.reused.role)}.`,
      );
      print(
        `Lease: ${leaseLine(createdAt, ttlMs(args), now())} for what this run created; usage limit: ${args.maxRpuHours === 0 ? 'none (--max-rpu-hours 0)' : `${args.maxRpuHours ?? 32} RPU-hours a day, then queries are turned off`}.`,
      );
      const values = {
        DATABASE_URL: databaseUrl,
        IAM_ROLE_ARN: result.roleArn,
        ...(result.secretArn ? { REDSHIFT_SECRET_ARN: result.secretArn } : {}),
      };
      for (const [k, v] of Object.entries(values)) print(`${k}=${v}`);
      if (args.writeEnv) {
        await setEnvValues(envFile, values);
        print(`Wrote ${Object.keys(values).join(', ')} to ${envFile}.`);
      }
      return;
    }
    case 'status': {
      const namespace = await findNamespace(ctx);
      const workgroup = await findWorkgroup(ctx);
      if (args.dryRun) return printPlan();
      const tagsOf = async (arn: string | undefined): Promise<AnyTag[]> => (arn ? serverlessTags(ctx, arn) : []);
      const workgroupLease = leaseOf(await tagsOf(workgroup?.workgroupArn));
      const namespaceLease = leaseOf(await tagsOf(namespace?.namespaceArn));
      const database = configuredDataApi(env);
      if (args.format === 'json') {
        const reach = database ? await dataApiReach(database, config.region, log) : undefined;
        printJson({
          namespace: {
            name: config.namespace,
            exists: Boolean(namespace),
            status: namespace?.status ?? null,
            iamRoles: namespace?.iamRoles ?? [],
            lease: leaseJson(namespaceLease, now()),
          },
          workgroup: {
            name: config.workgroup,
            exists: Boolean(workgroup),
            status: workgroup?.status ?? null,
            baseCapacity: workgroup?.baseCapacity ?? null,
            lease: leaseJson(workgroupLease, now()),
          },
          ...(reach ? { dataApi: reach } : {}),
        });
        return namespace && workgroup && (reach?.reachable ?? true) ? undefined : 1;
      }
      print(
        formatTable([
          {
            namespace: namespace
              ? `${config.namespace} (${namespace.status ?? '?'})`
              : `${config.namespace} (does not exist)`,
            workgroup: workgroup
              ? `${config.workgroup} (${workgroup.status ?? '?'})`
              : `${config.workgroup} (does not exist)`,
            capacity: workgroup?.baseCapacity ?? '',
            roles: (namespace?.iamRoles ?? []).map((r) => /iamRoleArn=([^,)]+)/.exec(r)?.[1] ?? r).join(', '),
          },
        ]),
      );
      if (workgroup) print(`Lease: ${describeLease(workgroupLease, now())}.`);
      if (!namespace || !workgroup) return 1;
      if (database) return dataApiStatus(database, config.region, log, false);
      return;
    }
    case 'delete': {
      const deleted = await deleteServerless(ctx);
      if (args.dryRun) return printPlan();
      const said = (done: boolean) => (done ? 'deleted' : 'did not exist');
      print(
        `Workgroup ${config.workgroup}: ${said(deleted.workgroup)}; namespace ${config.namespace}: ${said(deleted.namespace)}; IAM role ${config.roleName}: ${said(deleted.role)}.`,
      );
      return;
    }
    case 'extend':
    case 'sweep':
      throw new Error(`cluster ${args.action} runs before the kind of target is chosen`);
    default: {
      const never: never = args.action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

/** cluster extend --ttl: the configured resources' leases renewed from now. */
async function runExtend(args: ClusterArgs, ctx: ClusterContext): Promise<number | void> {
  const { extendLease } = await import('../../lib/aws/sweep.ts');
  const now = (ctx.now ?? Date.now)();
  const extended = await extendLease(ctx, ttlMs(args), Boolean(args.serverless));
  if (args.dryRun) return printCalls(ctx);
  if (args.format === 'json') {
    printJson({
      extended: extended.map((e) => ({ kind: e.kind, name: e.name, exists: e.exists, lease: leaseJson(e.lease, now) })),
    });
  } else {
    for (const e of extended) {
      print(
        `${e.kind} ${e.name}: ${!e.exists ? 'does not exist' : e.lease ? describeLease(e.lease, now) : 'not created by sparkify-warehouse: left as it is'}`,
      );
    }
  }
  return extended.some((e) => e.exists && e.lease) ? undefined : 1;
}

/** cluster sweep: deletes the tool's resources past their lease (--yes), or lists them (--dry-run). */
async function runSweep(args: ClusterArgs, ctx: ClusterContext): Promise<number | void> {
  const { sweep } = await import('../../lib/aws/sweep.ts');
  if (!args.dryRun && !args.yes)
    throw new ConfigError([
      'cluster sweep deletes every resource sparkify-warehouse created whose lease has expired: add --yes to do it, or --dry-run to list them',
    ]);
  const now = (ctx.now ?? Date.now)();
  // --dry-run still lists (read-only calls) so that it can say what would go.
  const results = await sweep(
    { ...ctx, dryRun: false },
    { skipFinalSnapshot: args.skipFinalSnapshot, listOnly: args.dryRun },
  );
  if (args.format === 'json') {
    printJson({
      region: ctx.config.region,
      dryRun: args.dryRun,
      resources: results.map((r) => ({
        kind: r.resource.kind,
        name: r.resource.name,
        state: r.resource.state ?? null,
        lease: leaseJson(r.resource.lease, now),
        outcome: r.outcome,
        detail: r.detail,
      })),
    });
  } else if (results.length === 0) {
    print(`Nothing to sweep: no resource created by sparkify-warehouse in ${ctx.config.region} is past its lease.`);
  } else {
    print(
      formatTable(
        results.map((r) => ({
          kind: r.resource.kind,
          name: r.resource.name,
          lease: describeLease(r.resource.lease, now),
          outcome: r.outcome,
          detail: r.detail ?? '',
        })),
      ),
    );
  }
  return results.some((r) => r.outcome === 'failed') ? 1 : undefined;
}

export const clusterCommand: CommandModule<object, ClusterArgs> = {
  command: 'cluster <action>',
  describe:
    'Create, inspect, delete, extend the lease of or sweep the Redshift cluster (or Serverless workgroup) and its IAM role (AWS SDK)',
  builder: (y) =>
    formatOption(
      commonOptions(y as Argv<object>),
      'status: the cluster (exists, state, endpoint, node type, nodes, IAM roles, lease); extend: the new leases; sweep: each expired resource and what was done',
    )
      .positional('action', { choices: ['create', 'status', 'delete', 'extend', 'sweep'] as const, demandOption: true })
      .option('ttl', {
        type: 'string',
        default: DEFAULT_TTL,
        describe:
          'create, extend: the lease (90m, 4h, 2d): the resources are tagged to expire then; later commands warn and `sweep` deletes them',
      })
      .option('max-rpu-hours', {
        type: 'number',
        default: 32,
        describe:
          'create --serverless: daily RPU-hours usage limit on the workgroup, then queries are turned off (0: none)',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe:
          'print each AWS call and its key parameters without calling AWS; sweep: list what it would delete (read-only calls)',
      })
      .option('write-env', {
        type: 'boolean',
        default: false,
        describe: 'create: write DATABASE_URL, IAM_ROLE_ARN (and a generated REDSHIFT_PASSWORD) into .env',
      })
      .option('write-config', {
        type: 'string',
        describe:
          'create: write [CLUSTER], [IAM_ROLE] ARN (and a generated [DWH] DWH_DB_PASSWORD) into this dwh.cfg, keeping its other lines',
      })
      .option('yes', {
        type: 'boolean',
        default: false,
        describe: 'delete: do not ask for confirmation; sweep: required to delete',
      })
      .option('skip-final-snapshot', { type: 'boolean', default: false, describe: 'delete, sweep: no final snapshot' })
      .option('serverless', {
        type: 'boolean',
        default: false,
        describe:
          'Redshift Serverless: a namespace and workgroup (REDSHIFT_NAMESPACE, REDSHIFT_WORKGROUP) reached through the Data API, instead of a cluster',
      })
      .check((a) => {
        if (
          a.format === 'json' &&
          (!['status', 'extend', 'sweep'].includes(a.action) || (a.dryRun && a.action !== 'sweep'))
        )
          throw new Error('--format json goes with cluster status, extend and sweep (without --dry-run, except sweep)');
        if (parseTtl(String(a.ttl)) === undefined)
          throw new Error(
            `--ttl: a duration such as 90m, 4h, 1h30m or 2d (1 minute to 30 days), got '${String(a.ttl)}'`,
          );
        const rpuHours = Number(a['max-rpu-hours']);
        if (!Number.isInteger(rpuHours) || rpuHours < 0 || rpuHours > 100000)
          throw new Error('--max-rpu-hours takes a whole number of RPU-hours a day (0: no usage limit)');
        return true;
      }) as unknown as Argv<ClusterArgs>,
  handler: (args) => runCommand(args, () => runClusterCommand(args)),
};
