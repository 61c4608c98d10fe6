/** What every bench phase shares: the local stack, a client's hook, a document client, scratch space. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../lib/local/local-stack';
import type { UpstreamSimulator } from '../../lib/local/upstream-simulator';
import type { HookServer } from '../support/hook-server';
import type { BenchConfig } from './config';

export interface StdoutCapture {
  /** Bytes and lines written by one function's handler (lines carrying its Lambda function name). */
  forFunction(functionName: string): { bytes: number; lines: number };
  /** A few lines each function logged (to see what costs log bytes). */
  samples(functionName: string): string[];
  readonly totalBytes: number;
  /** Writes to the real stdout (the final table). */
  print(text: string): void;
  restore(): void;
}

export interface BenchContext {
  readonly config: BenchConfig;
  readonly stack: LocalStack;
  readonly sim: UpstreamSimulator;
  readonly hook: HookServer;
  readonly doc: DynamoDBDocumentClient;
  readonly workDir: string;
  readonly stdout: StdoutCapture;
  /** Access-log lines the local front wrote (JSON bytes each). */
  readonly accessLogBytes: number[];
  readonly errors: string[];
}

/** Handler logs go to stdout: count them per function and keep them off the terminal. */
export function captureStdout(): StdoutCapture {
  const original = process.stdout.write.bind(process.stdout);
  const perFunction = new Map<string, { bytes: number; lines: number }>();
  const samples = new Map<string, string[]>();
  let totalBytes = 0;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    totalBytes += Buffer.byteLength(text);
    for (const line of text.split('\n')) {
      if (line === '') continue;
      // In one process the handlers share one logger: a line of the local stack's scheduled
      // reconciler carries the Lambda context last injected by another handler. Attribute it
      // by its message (in AWS each function has its own process and logger).
      const name = line.includes('"message":"reconciled open tasks"') ? 'reconciler (scheduled)' : (/luma-gateway-dev-([a-z-]+)/.exec(line)?.[1] ?? '(other)');
      const entry = perFunction.get(name) ?? { bytes: 0, lines: 0 };
      entry.bytes += Buffer.byteLength(line) + 1;
      entry.lines += 1;
      perFunction.set(name, entry);
      const kept = samples.get(name) ?? [];
      if (kept.length < 5) samples.set(name, [...kept, line.slice(0, 600)]);
    }
    const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stdout.write;
  return {
    forFunction: (name) => ({ ...(perFunction.get(name) ?? { bytes: 0, lines: 0 }) }),
    samples: (name) => [...(samples.get(name) ?? [])],
    get totalBytes() {
      return totalBytes;
    },
    print: (text) => void original(text),
    restore: () => void (process.stdout.write = original as typeof process.stdout.write),
  };
}
