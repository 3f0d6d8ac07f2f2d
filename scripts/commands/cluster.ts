/**
 * npm run cluster -- create|status|delete [--dry-run] [--write-env] [--write-config FILE] [--yes] [--skip-final-snapshot]
 */
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Argv, CommandModule } from 'yargs';
import type { AwsClients, ClusterContext } from '../../lib/aws/cluster.ts';
import { loadClusterConfig } from '../../lib/config/config.ts';
import { setEnvValues } from '../../lib/config/env-file-writer.ts';
import { setIniValues } from '../../lib/config/ini-file-writer.ts';
import { ConfigError } from '../../lib/errors.ts';
import { formatTable } from './format-table.ts';
import { commonOptions, createRunLogger, environment, formatOption, print, printJson, runCommand, type CommonArgs, type FormatArgs } from './common.ts';

interface ClusterArgs extends CommonArgs, FormatArgs {
  action: 'create' | 'status' | 'delete';
  dryRun: boolean;
  writeEnv: boolean;
  /** A dwh.cfg to write the connection and the role into (--write-config). */
  writeConfig?: string | undefined;
  yes: boolean;
  skipFinalSnapshot: boolean;
}

async function awsClients(region: string): Promise<AwsClients> {
  const [{ IAMClient }, { RedshiftClient }, { EC2Client }] = await Promise.all([import('@aws-sdk/client-iam'), import('@aws-sdk/client-redshift'), import('@aws-sdk/client-ec2')]);
  return { iam: new IAMClient({ region }), redshift: new RedshiftClient({ region }), ec2: new EC2Client({ region }) };
}

async function confirm(clusterId: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new ConfigError([`cluster delete removes ${clusterId} and its IAM role: add --yes to confirm when not at a terminal`]);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`Delete cluster ${clusterId} and its IAM role? Type the cluster name to confirm: `);
  rl.close();
  return answer.trim() === clusterId;
}

export interface ClusterRun {
  readonly clients?: AwsClients;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The command body; tests call it with mocked AWS clients. */
export async function runClusterCommand(args: ClusterArgs, deps: ClusterRun = {}): Promise<number | void> {
  // Loaded here, not at start-up: every other command would pay for the AWS SDK clients.
  const { clusterStatus, createCluster, deleteCluster } = await import('../../lib/aws/cluster.ts');
  const log = createRunLogger(args);
  const envFile = path.resolve(args.envFile);
  const config = loadClusterConfig(environment(args, log, { envFile: args.writeEnv, configFile: args.writeConfig }));
  log.secret(config.password);
  const ctx: ClusterContext = {
    config,
    clients: deps.clients ?? (await awsClients(config.region)),
    log,
    dryRun: args.dryRun,
    calls: [],
    ...(deps.sleep ? { sleep: deps.sleep, pollMs: 1 } : {}),
  };
  const printPlan = () => {
    print(`Plan (${ctx.calls.length} AWS calls; nothing was called):`);
    for (const [i, c] of ctx.calls.entries()) print(`${String(i + 1).padStart(2)}. ${c.service} ${c.command} ${JSON.stringify(c.params)}`);
  };
  switch (args.action) {
    case 'create': {
      if (!args.dryRun && !config.password && !args.writeEnv && !args.writeConfig) {
        throw new ConfigError([
          'REDSHIFT_PASSWORD is not set: add --write-env (or --write-config dwh.cfg) so the generated master password is kept in .env (or the dwh.cfg; it is never printed), or set REDSHIFT_PASSWORD (or [DWH] DWH_DB_PASSWORD)',
        ]);
      }
      const result = await createCluster(ctx);
      if (args.dryRun) return printPlan();
      const host = result.endpoint ? `${result.endpoint.host}:${result.endpoint.port}` : '(pending)';
      print(`Cluster ${config.clusterId}: ${result.reused.cluster ? 'reused' : 'created'}; IAM role ${config.roleName}: ${result.reused.role ? 'reused' : 'created'}.`);
      print(`IAM_ROLE_ARN=${result.roleArn}`);
      print(`DATABASE_URL=postgres://${config.user}:<REDSHIFT_PASSWORD>@${host}/${config.database}?sslmode=require`);
      if (args.writeEnv) {
        const password = result.generatedPassword ?? config.password;
        await setEnvValues(envFile, {
          IAM_ROLE_ARN: result.roleArn,
          ...(password && result.endpoint ? { DATABASE_URL: `postgres://${config.user}:${encodeURIComponent(password)}@${host}/${config.database}?sslmode=require` } : {}),
          ...(result.generatedPassword ? { REDSHIFT_PASSWORD: result.generatedPassword } : {}),
        });
        print(`Wrote IAM_ROLE_ARN${password ? ', DATABASE_URL' : ''}${result.generatedPassword ? ' and the generated REDSHIFT_PASSWORD' : ''} to ${envFile}.`);
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
        print(`Wrote [CLUSTER]${result.endpoint ? ' HOST, DB_PORT,' : ''} DB_NAME, DB_USER${password ? ', DB_PASSWORD' : ''}, [IAM_ROLE] ARN${result.generatedPassword ? ' and the generated [DWH] DWH_DB_PASSWORD' : ''} to ${file}.`);
      }
      return;
    }
    case 'status': {
      const cluster = await clusterStatus(ctx);
      if (args.dryRun) return printPlan();
      if (args.format === 'json') {
        const found = cluster
          ? { cluster: cluster.ClusterIdentifier, state: cluster.ClusterStatus, endpoint: cluster.Endpoint ? { address: cluster.Endpoint.Address, port: cluster.Endpoint.Port } : null, nodeType: cluster.NodeType, nodes: cluster.NumberOfNodes, iamRoles: (cluster.IamRoles ?? []).map((r) => r.IamRoleArn) }
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
      return;
    }
    case 'delete': {
      if (!args.dryRun && !args.yes && !(await confirm(config.clusterId))) {
        print('Not confirmed: nothing deleted.');
        return 1;
      }
      const deleted = await deleteCluster(ctx, { skipFinalSnapshot: args.skipFinalSnapshot });
      if (args.dryRun) return printPlan();
      print(`Cluster ${config.clusterId}: ${deleted.cluster ? 'deleted' : 'did not exist'}; IAM role ${config.roleName}: ${deleted.role ? 'deleted' : 'did not exist'}.`);
      return;
    }
    default: {
      const never: never = args.action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

export const clusterCommand: CommandModule<object, ClusterArgs> = {
  command: 'cluster <action>',
  describe: 'Create, inspect or delete the Redshift cluster and its IAM role (AWS SDK)',
  builder: (y) =>
    formatOption(commonOptions(y as Argv<object>), 'status: the cluster (exists, state, endpoint, node type, nodes, IAM roles)')
      .positional('action', { choices: ['create', 'status', 'delete'] as const, demandOption: true })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print each AWS call and its key parameters without calling AWS' })
      .option('write-env', { type: 'boolean', default: false, describe: 'create: write DATABASE_URL, IAM_ROLE_ARN (and a generated REDSHIFT_PASSWORD) into .env' })
      .option('write-config', { type: 'string', describe: 'create: write [CLUSTER], [IAM_ROLE] ARN (and a generated [DWH] DWH_DB_PASSWORD) into this dwh.cfg, keeping its other lines' })
      .option('yes', { type: 'boolean', default: false, describe: 'delete: do not ask for confirmation' })
      .option('skip-final-snapshot', { type: 'boolean', default: false, describe: 'delete: no final snapshot' })
      .check((a) => {
        if (a.format === 'json' && (a.action !== 'status' || a.dryRun)) throw new Error('--format json goes with cluster status (without --dry-run)');
        return true;
      }) as unknown as Argv<ClusterArgs>,
  handler: (args) => runCommand(args, () => runClusterCommand(args)),
};
