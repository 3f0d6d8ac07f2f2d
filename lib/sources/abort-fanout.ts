/**
 * One 'abort' listener on the run's signal, however many S3 requests and
 * bodies are in flight: each request or body registers what stops it here
 * instead of adding a listener of its own to the signal. With a listener
 * each, 64 reads in flight (compaction's COMPACT_CONCURRENCY, or
 * S3_MAX_CONCURRENCY) put 64-128 listeners on one AbortSignal, and Node
 * warned "MaxListenersExceededWarning: Possible EventTarget memory leak
 * detected. 11 abort listeners added to [AbortSignal]" (issue 26).
 */
export class AbortFanout {
  private readonly stops = new Set<() => void>();

  constructor(readonly signal: AbortSignal | undefined) {
    signal?.addEventListener(
      'abort',
      () => {
        const stops = [...this.stops];
        this.stops.clear();
        for (const stop of stops) stop();
      },
      { once: true },
    );
  }

  /** Calls `stop` when the signal aborts (at once when it has); the function returned forgets it. */
  track(stop: () => void): () => void {
    if (!this.signal) return () => undefined;
    if (this.signal.aborted) {
      stop();
      return () => undefined;
    }
    this.stops.add(stop);
    return () => void this.stops.delete(stop);
  }

  /** How many are registered now (for the tests). */
  get size(): number {
    return this.stops.size;
  }
}
