/**
 * A staging worker thread: reads source objects (local files or S3), converts
 * their JSON records to COPY text (object-converter.ts) and hands the bytes to
 * the main thread, which streams them into PostgreSQL. Flow control: at most
 * MAX_UNACKED batches are outstanding, so memory stays bounded when the
 * database is the slower side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../errors.ts';
import { createSourceReader, type SourceObject } from '../sources/source-objects.ts';
import { BATCH_CHARS, createObjectConverter, type ConvertTarget } from './object-converter.ts';

export interface WorkerInit {
  readonly target: ConvertTarget;
  readonly region: string;
  /** Objects this worker reads at once (more for S3, to hide latency). */
  readonly inFlight: number;
}

export type ToWorker = { type: 'task'; object: SourceObject } | { type: 'done' } | { type: 'ack' };
export type FromWorker =
  | { type: 'want' }
  | { type: 'rows'; buf: ArrayBuffer; count: number }
  | { type: 'problem'; problem: import('../errors.ts').RecordProblem }
  | { type: 'object-done'; uri: string; rows: number; bytes: number }
  | { type: 'fatal'; message: string; input: boolean }
  | { type: 'exit' };

const MAX_UNACKED = 4;

if (parentPort) {
  const port = parentPort;
  const init = workerData as WorkerInit;
  const reader = createSourceReader(init.region);
  const convert = createObjectConverter(init.target);
  const encoder = new TextEncoder();
  const send = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  let unacked = 0;
  const waiting: (() => void)[] = [];
  let active = 0;
  let finished = false;
  let exited = false;
  // Rows of several objects travel together: one-row song files would otherwise
  // cost a message, an acknowledgement and a COPY write each.
  let pendingText = '';
  let pendingRows = 0;
  const flush = async () => {
    if (pendingRows === 0) return;
    const bytes = encoder.encode(pendingText);
    const count = pendingRows;
    pendingText = '';
    pendingRows = 0;
    unacked += 1;
    send({ type: 'rows', buf: bytes.buffer as ArrayBuffer, count }, [bytes.buffer as ArrayBuffer]);
    // A semaphore: each acknowledgement lets exactly one waiting conversion go on.
    if (unacked > MAX_UNACKED) await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const exitOnce = async () => {
    if (!exited && finished && active === 0) {
      exited = true;
      try {
        await flush();
        send({ type: 'exit' });
      } catch (err) {
        send({ type: 'fatal', message: (err as Error).message, input: false });
      }
    }
  };

  const convertObject = async (object: SourceObject) => {
    active += 1;
    try {
      const result = await convert(object.uri, await reader.open(object), {
        rows: async (text, count) => {
          pendingText += text;
          pendingRows += count;
          if (pendingText.length >= BATCH_CHARS) await flush();
        },
        problem: (problem) => send({ type: 'problem', problem }),
      });
      send({ type: 'object-done', uri: object.uri, rows: result.rows, bytes: result.bytes });
    } catch (err) {
      send({ type: 'fatal', message: (err as Error).message, input: err instanceof InputError });
    } finally {
      active -= 1;
      if (finished) await exitOnce();
      else send({ type: 'want' });
    }
  };

  port.on('message', (m: ToWorker) => {
    if (m.type === 'ack') {
      unacked -= 1;
      // The woken conversion does not check the limit again: re-waiting could
      // strand it when no more acknowledgements come (one-row song files).
      waiting.shift()?.();
    } else if (m.type === 'task') void convertObject(m.object);
    else if (m.type === 'done') {
      // Several 'want's may be answered with 'done': exit once, after the last object.
      finished = true;
      void exitOnce();
    }
  });
  for (let i = 0; i < init.inFlight; i += 1) send({ type: 'want' });
}
