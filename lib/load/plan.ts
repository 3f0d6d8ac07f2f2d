/**
 * The load as a SQL script for a dialect (--dry-run): the same steps in the
 * same transactions as a run, staging as the engine's strategy plans it
 * (lib/stage/plan.ts).
 * Secrets are redacted by the caller's output path.
 */
import { schemaPreamble } from '../db/schema.ts';
import type { Dialect } from '../dialect/index.ts';
import { noFaults } from '../fault-points.ts';
import { stagingContext, type LoadOptions } from './options.ts';
import { replaceDeletes } from './runner.ts';
import { selectSteps, type TransformStep } from './steps.ts';
import { stagingFor } from '../stage/index.ts';
import { renderStepPlan } from '../stage/plan.ts';
import { ledgerScript } from '../stage/ledger.ts';

export async function loadScript(dialect: Dialect, opts: LoadOptions): Promise<string> {
  const { staging, transforms } = selectSteps(opts.pipeline, opts.only);
  const lines: string[] = [
    `-- sparkify-warehouse: load plan for ${dialect.name}`,
    '',
    ...schemaPreamble(opts.config.schema, { create: false }),
  ];
  let ledger: ReturnType<typeof ledgerScript> | undefined;
  if (staging.length > 0) {
    const strategy = await stagingFor(dialect.name);
    // A plan never stops at a fault point: it runs nothing.
    const planned = await strategy.plan(staging, stagingContext({ ...opts, faults: noFaults }, 'RUN-ID'));
    ledger = ledgerScript(dialect.name, planned.ledgerFiles);
    if (opts.incremental) for (const step of staging) lines.push(...ledger.fresh(step.table));
    if (planned.before && planned.before.length > 0) {
      lines.push('-- staging tables emptied first, each statement committed on its own (TRUNCATE commits)');
      for (const sql of planned.before) lines.push(`${sql};`, '');
    }
    lines.push(
      `-- step: stage ${staging.map((s) => s.table).join(', ')} (one transaction: all replaced or none)`,
      'BEGIN;',
      '',
    );
    for (const step of planned.steps) lines.push(...renderStepPlan(step));
    lines.push('COMMIT;', '');
  }
  if (opts.replace) {
    // --replace: one transaction for every star table and the ledger (lib/load/runner.ts replaceStarTables).
    lines.push(
      '-- step: replace: the star tables and the ledger rebuilt from the sources (one transaction)',
      'BEGIN;',
      '',
    );
    for (const { sql } of replaceDeletes(transforms)) lines.push(`${sql};`, '');
    for (const step of transforms) {
      lines.push(`-- transform ${step.table}: ${step.description}`, '');
      lines.push(...stepSql(step, dialect));
    }
    lines.push(
      '-- the load ledger: the staged objects are recorded here, before the commit',
      ...(ledger?.record ?? []),
      'COMMIT;',
      '',
    );
    return `${lines.join('\n').trimEnd()}\n`;
  }
  for (const step of transforms) {
    lines.push(`-- step: transform ${step.table}: ${step.description}`, 'BEGIN;', '');
    lines.push(...stepSql(step, dialect));
    lines.push('COMMIT;', '');
  }
  // Only a run that staged and filled every star table records its objects (lib/load/runner.ts).
  if (ledger && transforms.length === opts.pipeline.transforms.length)
    lines.push(
      '-- step: ledger: the staged objects recorded as loaded',
      'BEGIN;',
      '',
      ...ledger.record,
      '',
      'COMMIT;',
      '',
    );
  return `${lines.join('\n').trimEnd()}\n`;
}

/** A transform's statements, and its assertions (queries whose rows fail the step) after them. */
function stepSql(step: TransformStep, dialect: Dialect): string[] {
  const lines: string[] = [];
  for (const sql of step.statements(dialect)) lines.push(`${sql};`, '');
  for (const assertion of step.assertions?.(dialect) ?? [])
    lines.push(
      `-- check ${assertion.name}: the load stops, rolled back, when this returns a row`,
      `${assertion.sql};`,
      '',
    );
  return lines;
}
