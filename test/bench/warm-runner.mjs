// Warm latency in one fresh Node process (spawned by test/bench/phase-warm.ts):
// import a function's bundle and its floor's (two warm containers), invoke
// them alternately (real then floor, floor then real) with the events of
// the plan in argv[2], after a warm-up, and print every measured duration
// on one line prefixed __BENCH__. What the real handler writes to stdout
// (its logs) is counted per measured invocation. Plain JavaScript: nothing
// but node runs here, as in Lambda.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const write = process.stdout.write.bind(process.stdout);
let logBytes = 0;
let logLines = 0;
process.stdout.write = (chunk, ...rest) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  logBytes += Buffer.byteLength(text);
  logLines += text.split('\n').filter(Boolean).length;
  const done = rest.find((arg) => typeof arg === 'function');
  if (done) done();
  return true;
};

function context() {
  const deadline = Date.now() + plan.timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: `luma-gateway-dev-${plan.functionName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:luma-gateway-dev-${plan.functionName}`,
    memoryLimitInMB: String(plan.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/luma-gateway-dev-${plan.functionName}`,
    logStreamName: '2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const checks = {
  api: (result) => result?.statusCode === 200,
  authorizer: (result) => typeof result?.principalId === 'string',
  'task-changes': (result) => Array.isArray(result?.batchItemFailures) && result.batchItemFailures.length === 0,
  any: (result) => result !== undefined,
};
const check = checks[plan.check];
const sides = {};
for (const name of ['real', 'floor']) {
  const module = await import(pathToFileURL(plan[name].bundle).href);
  sides[name] = { handler: module.handler, events: plan[name].events, ms: [], errors: 0, firstError: undefined, logBytes: 0, logLines: 0 };
}

const stopAt = Date.now() + plan.deadlineMs;
let measured = 0;
for (let i = 0; i < plan.warmUp + plan.n && Date.now() < stopAt; i += 1) {
  for (const name of i % 2 === 0 ? ['real', 'floor'] : ['floor', 'real']) {
    const side = sides[name];
    const event = side.events[i % side.events.length];
    const [bytesBefore, linesBefore] = [logBytes, logLines];
    const started = performance.now();
    let ok = false;
    let result;
    try {
      result = await side.handler(event, context());
      ok = check(result);
    } catch (error) {
      result = String(error?.message ?? error);
    }
    if (!ok) side.firstError ??= JSON.stringify(result)?.slice(0, 300);
    const elapsed = performance.now() - started;
    if (i < plan.warmUp) continue;
    side.ms.push(elapsed);
    if (!ok) side.errors += 1;
    side.logBytes += logBytes - bytesBefore;
    side.logLines += logLines - linesBefore;
  }
  if (i >= plan.warmUp) measured += 1;
}
const out = Object.fromEntries(Object.entries(sides).map(([name, side]) => [name, { ms: side.ms, errors: side.errors, firstError: side.firstError, logBytes: side.logBytes, logLines: side.logLines }]));
write(`__BENCH__${JSON.stringify({ measured, ...out })}\n`, () => process.exit(0));
