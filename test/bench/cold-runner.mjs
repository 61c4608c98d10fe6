// One cold start, in a fresh Node process (spawned by test/bench/cold-start.ts):
// import a Lambda bundle (init), invoke its handler once with the event in
// argv[3] (first invocation), print the timings on one line prefixed
// __BENCH__. What the handler writes to stdout (its logs) is counted, not shown.
// Plain JavaScript on purpose: nothing but node runs here, as in Lambda.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';

const runnerStartMs = performance.now();
const [bundle, eventFile, functionName, memory, timeout] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));

const write = process.stdout.write.bind(process.stdout);
let logBytes = 0;
process.stdout.write = (chunk, ...rest) => {
  logBytes += Buffer.byteLength(chunk);
  const done = rest.find((arg) => typeof arg === 'function');
  if (done) done();
  return true;
};

const importStart = performance.now();
const module = await import(pathToFileURL(bundle).href);
const importMs = performance.now() - importStart;
const initLogBytes = logBytes;

const deadline = Date.now() + Number(timeout);
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: `luma-gateway-dev-${functionName}`,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:luma-gateway-dev-${functionName}`,
  memoryLimitInMB: String(memory),
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/luma-gateway-dev-${functionName}`,
  logStreamName: '2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

let outcome;
const invokeStart = performance.now();
try {
  const result = await module.handler(event, context);
  outcome = { ok: result?.statusCode === undefined || result.statusCode === 200, statusCode: result?.statusCode };
} catch (error) {
  outcome = { ok: false, error: String(error?.message ?? error) };
}
const firstMs = performance.now() - invokeStart;

write(`__BENCH__${JSON.stringify({ runnerStartMs, importMs, firstMs, initLogBytes, invokeLogBytes: logBytes - initLogBytes, ...outcome })}\n`, () => process.exit(0));
