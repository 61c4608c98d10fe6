/**
 * every(ms, fn): the local stand-in for an EventBridge schedule. Runs never
 * overlap (the next run is scheduled when the previous one ends), a failing
 * run is reported and the schedule goes on, and stop() waits for the run in
 * progress.
 */
export interface Schedule {
  /** Completed runs (successful or not). */
  readonly runs: number;
  readonly failures: number;
  stop(): Promise<void>;
}

export interface EveryOptions {
  /** Run once right away instead of after the first interval. */
  readonly immediately?: boolean;
  readonly onError?: (error: unknown) => void;
}

export function every(ms: number, fn: () => unknown, options: EveryOptions = {}): Schedule {
  if (!(ms > 0)) throw new Error(`every(): the interval must be a positive number of milliseconds, got ${ms}`);
  let stopped = false;
  let runs = 0;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;

  const run = () => {
    timer = undefined;
    current = (async () => {
      try {
        await fn();
      } catch (error) {
        failures += 1;
        options.onError?.(error);
      } finally {
        runs += 1;
      }
    })();
    void current.then(() => {
      current = undefined;
      if (!stopped) timer = setTimeout(run, ms);
    });
  };
  timer = setTimeout(run, options.immediately ? 0 : ms);

  return {
    get runs() {
      return runs;
    },
    get failures() {
      return failures;
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
