// HTTP load, in its own process so the client does not share the local
// stack's event loop (spawned by test/bench/http-load.ts). Reads a plan
// {baseUrl, concurrency, intervalMs?, requests: [{method, path, headers, body}]}
// from argv[2], runs it with `concurrency` requests in flight (and, with
// intervalMs, request i starting no earlier than i * intervalMs), writes
// {results: [{status, startMs, endMs, body}], startedMs, endedMs} to argv[3].
// Times are epoch milliseconds (sub-millisecond), comparable across processes.
import { readFileSync, writeFileSync } from 'node:fs';

const [planFile, outFile] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planFile, 'utf8'));
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const results = new Array(plan.requests.length);
let next = 0;
const startedMs = now();

async function worker() {
  while (next < plan.requests.length) {
    const index = next++;
    const request = plan.requests[index];
    if (plan.intervalMs) {
      const due = startedMs + index * plan.intervalMs;
      if (now() < due) await sleep(due - now());
    }
    const startMs = now();
    try {
      const response = await fetch(`${plan.baseUrl}${request.path}`, {
        method: request.method,
        headers: request.headers,
        body: request.body === undefined ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      results[index] = { status: response.status, startMs, endMs: now(), body: text.length <= 8192 ? text : '' };
    } catch (error) {
      results[index] = { status: 0, startMs, endMs: now(), body: '', error: String(error?.cause?.code ?? error?.message ?? error) };
    }
  }
}

await Promise.all(Array.from({ length: Math.max(1, plan.concurrency) }, worker));
writeFileSync(outFile, JSON.stringify({ results, startedMs, endedMs: now() }));
process.exit(0);
