/**
 * Staging as a value: the actions of each staging step, built once by the
 * engine's strategy (lib/stage/postgres/staging.ts, lib/stage/redshift/staging.ts).
 * A dry run prints them (renderStepPlan); a run executes the same list, each
 * strategy interpreting the kinds it produces. Transform steps are values the
 * same way (TransformStep.statements).
 */
import type { StagingStep } from './step.ts';

/** A data check after a COPY: which rule (the strategy knows how to judge its result). */
export type StagingCheck = { readonly rule: 'epoch-ms'; readonly column: string } | { readonly rule: 'mapped-columns' };

export type StagingAction =
  /** A comment in the dry run; a run does nothing. */
  | { readonly kind: 'note'; readonly text: string }
  /** A statement run as it is. */
  | { readonly kind: 'sql'; readonly sql: string }
  /** The engine's COPY from S3 (Redshift), which `reads` (for the log); `notes` follow it in the dry run. A run reads back its row count and skipped records. */
  | { readonly kind: 'copy'; readonly sql: string; readonly reads: string; readonly notes: readonly string[] }
  /** Rows converted and streamed by this tool into COPY … FROM STDIN (PostgreSQL). */
  | { readonly kind: 'copy-from-stdin'; readonly table: string; readonly source: string }
  /** A query whose answer the run judges: a warning, a bad-input error or (under --max-errors) a deletion. */
  | { readonly kind: 'check'; readonly check: StagingCheck; readonly note: string; readonly sql: string };

export interface StepPlan {
  readonly step: StagingStep;
  /** The source setting's value (a prefix, a folder, or for an incremental load what the manifest lists). */
  readonly source: string;
  /** The JSON mapping setting's value. */
  readonly format: string;
  readonly actions: readonly StagingAction[];
}

/**
 * Redshift: where the ledger's object lists are written for COPY (a gzip'd
 * JSON Lines object under LOAD_STAGE_PREFIX, else LOAD_MANIFEST_PREFIX), so
 * that new or changed objects are found and the ledger is written in SQL,
 * set-based (lib/stage/ledger.ts). Absent: the ledger is compared and written
 * from this process (PostgreSQL streams it through COPY FROM STDIN instead).
 */
export interface LedgerFiles {
  /** Writes `lines` gzip'd as one object named `name` under the run's prefix. */
  put(name: string, lines: Iterable<string>): Promise<LedgerFile>;
  /** The COPY of a file that a dry run shows (nothing written). */
  planned(name: string): LedgerFile;
}

export interface LedgerFile {
  /** The COPY … FORMAT AS JSON 'auto' GZIP of this file into `table` (its columns). */
  copy(table: string, columns: readonly string[]): string;
  /** Removes the file (missing is no error). */
  remove(): Promise<void>;
}

export interface StagePlan {
  /** Statements run one by one, each committed on its own, before the staging transaction (Redshift's TRUNCATE). */
  readonly before?: readonly string[];
  readonly steps: readonly StepPlan[];
  /** Redshift: where the ledger's object lists are COPY'd from (lib/stage/ledger.ts ledgerScript renders them). */
  readonly ledgerFiles?: LedgerFiles | undefined;
}

/** The dry run's lines of one action. */
export function renderAction(action: StagingAction): string[] {
  switch (action.kind) {
    case 'note':
      return [`-- ${action.text}`];
    case 'sql':
      return [`${action.sql};`, ''];
    case 'copy':
      return [`${action.sql};`, ...action.notes.map((n) => `-- ${n}`), ''];
    case 'copy-from-stdin':
      return [`-- COPY ${action.table} FROM STDIN: rows streamed by the loader from ${action.source}`, ''];
    case 'check':
      return [`-- check: ${action.note}`, `${action.sql};`, ''];
    default: {
      const never: never = action;
      throw new Error(`unknown staging action ${JSON.stringify(never)}`);
    }
  }
}

/** The dry run's lines of one step: its header, then each action. */
export function renderStepPlan(plan: StepPlan): string[] {
  return [
    `-- step: stage ${plan.step.table} from ${plan.source} (JSON mapping: ${plan.format})`,
    ...plan.actions.flatMap(renderAction),
  ];
}

/** An action kind a strategy does not produce (a programming error). */
export function unexpectedAction(engine: string, action: StagingAction): Error {
  return new Error(`${engine} staging cannot run a '${action.kind}' action`);
}
