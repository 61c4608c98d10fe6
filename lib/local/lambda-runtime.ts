/**
 * Running the real handlers in-process, the way Lambda would: the module
 * functions/<name>/handler.ts is imported once (a warm container), and each
 * invocation gets a Lambda context whose timeout and memory come from the
 * same table the CDK stack uses (lib/function-needs.ts).
 *
 * Every function shares this one process, and invocations overlap: as the
 * Lambda runtime does when it runs several invocations in one environment
 * (Lambda Managed Instances), each one runs inside the Lambda invoke store
 * with its request id and its own X-Ray trace header, and
 * AWS_LAMBDA_MAX_CONCURRENCY tells Powertools so: each invocation's log
 * keys, metrics and trace segment stay its own.
 *
 * Extension point: the reconciler (scheduled) and the task-changes consumer (stream) are
 * invoked through invokeFunction() too; see local-stack.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { FUNCTION_NEEDS } from '../function-needs';

export type LambdaHandler = (event: any, context: Context) => unknown;

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';

/** Used for a function lib/function-needs.ts does not list. */
const DEFAULT_TIMEOUT_MS = 29_000;
const DEFAULT_MEMORY_MB = 256;

export function functionSettings(functionName: string): { timeoutMs: number; memoryMb: number } {
  const needs = FUNCTION_NEEDS[functionName];
  return needs
    ? { timeoutMs: needs.timeout.toMilliseconds(), memoryMb: needs.memorySize }
    : { timeoutMs: DEFAULT_TIMEOUT_MS, memoryMb: DEFAULT_MEMORY_MB };
}

export function localFunctionName(functionName: string): string {
  return `luma-gateway-local-${functionName}`;
}

/** A Lambda context as the Node.js runtime passes it. */
export function lambdaContext(functionName: string, options: { timeoutMs?: number; memoryMb?: number; requestId?: string } = {}): Context {
  const settings = functionSettings(functionName);
  const timeoutMs = options.timeoutMs ?? settings.timeoutMs;
  const deadline = Date.now() + timeoutMs;
  const name = localFunctionName(functionName);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${name}`,
    memoryLimitInMB: String(options.memoryMb ?? settings.memoryMb),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const FUNCTION_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Imports functions/<name>/handler.ts and returns its `handler` export. */
export async function importHandler(functionName: string): Promise<LambdaHandler> {
  if (!FUNCTION_NAME.test(functionName)) throw new Error(`invalid function name ${JSON.stringify(functionName)}`);
  const module = await import(`../../functions/${functionName}/handler`);
  const handler = module.handler ?? module.default?.handler;
  if (typeof handler !== 'function') throw new Error(`functions/${functionName}/handler.ts does not export a handler function`);
  return handler as LambdaHandler;
}

/** Loads each handler once, like a warm Lambda container, and shares the promise. */
export function handlerCache(load: (functionName: string) => Promise<LambdaHandler> = importHandler) {
  const cache = new Map<string, Promise<LambdaHandler>>();
  return (functionName: string): Promise<LambdaHandler> => {
    let loaded = cache.get(functionName);
    if (!loaded) {
      loaded = load(functionName);
      cache.set(functionName, loaded);
      // A module that failed to load is retried on the next invocation (a new cold start).
      loaded.catch(() => cache.delete(functionName));
    }
    return loaded;
  };
}

export class FunctionTimeoutError extends Error {
  constructor(
    readonly functionName: string,
    readonly timeoutMs: number,
  ) {
    super(`functions/${functionName} timed out after ${timeoutMs} ms (Lambda: "Task timed out")`);
    this.name = 'FunctionTimeoutError';
  }
}

/** The invocation was killed where it ran (a crash, as a Lambda whose runtime died): it answers nothing more. */
export class InvocationKilledError extends Error {
  constructor(
    readonly functionName: string,
    reason: string,
  ) {
    super(`functions/${functionName} was killed (${reason}) (Lambda: "Runtime exited")`);
    this.name = 'InvocationKilledError';
  }
}

const invocations = new AsyncLocalStorage<{ kill(reason: string): void }>();

type InvocationScope = Record<string | symbol, unknown>;

/** What Lambda's runtime installs as globalThis.awslambda.InvokeStore when invocations share an environment. */
class LocalInvokeStore extends InvokeStoreBase {
  private readonly scopes = new AsyncLocalStorage<InvocationScope>();
  getContext(): InvocationScope | undefined {
    return this.scopes.getStore();
  }
  hasContext(): boolean {
    return this.scopes.getStore() !== undefined;
  }
  get<T = unknown>(key: string | symbol): T | undefined {
    return this.scopes.getStore()?.[key] as T | undefined;
  }
  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key)) throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    const scope = this.scopes.getStore();
    if (scope === undefined) throw new Error('No context available');
    scope[key] = value;
  }
  run<T>(context: InvocationScope, fn: () => T): T {
    return this.scopes.run(context, fn);
  }
}

const lambdaGlobal = globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } };
lambdaGlobal.awslambda ??= {};
if (!(lambdaGlobal.awslambda.InvokeStore instanceof LocalInvokeStore)) lambdaGlobal.awslambda.InvokeStore = new LocalInvokeStore();
const invokeStore: InvokeStoreBase = lambdaGlobal.awslambda.InvokeStore;
// The AWS SDK asks the invoke-store package for the store too (getInstanceAsync). Asked now, with
// AWS_LAMBDA_MAX_CONCURRENCY unset, the package hands out the store installed above for good, rather than
// building its own with a dynamic import (which a CommonJS test runner such as Jest's refuses).
void InvokeStore.getInstanceAsync();

/**
 * Powertools scopes its state to the invocation only while
 * AWS_LAMBDA_MAX_CONCURRENCY is set: set while any invocation runs, unset
 * when none does (so that nothing else in this process, the AWS SDK in
 * another module registry, say, takes this process for a multi-concurrency
 * Lambda environment). Left alone when the environment already sets it.
 */
const CONCURRENCY_VARIABLE = 'AWS_LAMBDA_MAX_CONCURRENCY';
const concurrencyPreset = process.env[CONCURRENCY_VARIABLE] !== undefined;
let running = 0;
function invocationStarts(): void {
  running += 1;
  if (!concurrencyPreset) process.env[CONCURRENCY_VARIABLE] = '1000';
}
function invocationEnds(): void {
  running -= 1;
  if (running === 0 && !concurrencyPreset) delete process.env[CONCURRENCY_VARIABLE];
}

/** A sampled X-Ray trace header, as Lambda gives each invocation of a function with active tracing. */
export function traceHeader(): string {
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}

/**
 * Kills the invocation this code runs in, as a crash would: its caller gets
 * InvocationKilledError at once, and whatever the handler does afterwards
 * is dropped. Returns a promise that never settles, for the caller to await
 * so that none of its own code runs on. Outside an invocation it throws.
 */
export function killCurrentInvocation(reason: string): Promise<never> {
  const invocation = invocations.getStore();
  if (!invocation) throw new Error('killCurrentInvocation: not inside a local Lambda invocation');
  invocation.kill(reason);
  return new Promise<never>(() => {});
}

/**
 * Invokes a handler with a fresh context; rejects with FunctionTimeoutError
 * when it runs past the function's timeout (the work itself cannot be killed
 * in-process: it runs on, its result is dropped, as with a frozen container),
 * and with InvocationKilledError when killCurrentInvocation() ran inside it.
 */
export async function invokeWith(handler: LambdaHandler, functionName: string, event: unknown, options: { timeoutMs?: number; requestId?: string } = {}): Promise<unknown> {
  const context = lambdaContext(functionName, options);
  const timeoutMs = options.timeoutMs ?? functionSettings(functionName).timeoutMs;
  const scope = { [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId, [InvokeStoreBase.PROTECTED_KEYS.X_RAY_TRACE_ID]: traceHeader() };
  let timer: NodeJS.Timeout | undefined;
  let kill!: (reason: string) => void;
  const killed = new Promise<never>((_, reject) => (kill = (reason) => reject(new InvocationKilledError(functionName, reason))));
  invocationStarts();
  try {
    return await Promise.race([
      invokeStore.run(scope, () => invocations.run({ kill }, () => Promise.resolve().then(() => handler(event, context)))),
      killed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new FunctionTimeoutError(functionName, timeoutMs)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    invocationEnds();
  }
}

const sharedCache = handlerCache();

/** Invokes functions/<name>/handler.ts in-process (schedules, stream consumers, tests). */
export async function invokeFunction(functionName: string, event: unknown, options: { timeoutMs?: number } = {}): Promise<unknown> {
  return invokeWith(await sharedCache(functionName), functionName, event, options);
}
