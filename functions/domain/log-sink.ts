/** What the domain needs of a logger; Powertools' Logger satisfies it, tests pass a silent one. */
export interface LogSink {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export const silentLog: LogSink = { info: () => {}, warn: () => {}, error: () => {} };
