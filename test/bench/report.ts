/** The bench's table on the terminal. */
import type { BenchResults } from './run';
import { round } from './stats';

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : cell)))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => String(row[column] ?? '').length)));
  const line = (row: (string | number)[]) => row.map((cell, column) => (column === 0 ? String(cell).padEnd(widths[column]) : String(cell).padStart(widths[column]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return String(round(value, Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2));
}

const kb = (bytes: number) => `${round(bytes / 1024, 1)} KB`;

export function renderReport(results: BenchResults): string {
  const out: string[] = [];
  const m = results.meta;
  out.push(`luma-gateway bench  ${m.date}  commit ${m.gitCommit}${m.gitDirty ? ' (working tree dirty)' : ''}  node ${m.node}  ${m.cpus}x ${m.cpuModel}${m.quick ? '  QUICK' : ''}`);

  out.push('', '1. Bundles (minified ESM index.mjs, the synthesized asset) and cold start: import + first invocation, fresh node process, local stack');
  out.push(
    table(
      ['function', 'bundle', 'bare', 'x', '= synth', 'import p50', 'first p50', 'cold p50', 'cold p90', 'bare p50', 'bare p90', 'x p50', 'x p90', 'fail'],
      results.coldStart.map((c) => {
        const bundle = results.bundles.find((b) => b.functionName === c.functionName);
        return [
          c.functionName,
          kb(c.real.bundleBytes),
          kb(c.baseline.bundleBytes),
          c.bundleRatio,
          bundle ? (bundle.equalsSynth === undefined ? 'n/a' : bundle.equalsSynth ? 'yes' : 'NO') : '',
          c.real.importMs.p50,
          c.real.firstInvocationMs.p50,
          c.real.initPlusFirstMs.p50,
          c.real.initPlusFirstMs.p90,
          c.baseline.initPlusFirstMs.p50,
          c.baseline.initPlusFirstMs.p90,
          c.ratioP50,
          c.ratioP90,
          c.real.failures + c.baseline.failures,
        ];
      }),
    ),
  );
  out.push(`   ms; ${results.coldStart[0]?.runs ?? 0} runs each, real and bare alternated; NODE_OPTIONS as deployed (${results.coldStart[0]?.nodeOptions || 'none'}); node boot (~${round(results.meta.nodeBootMs, 0)} ms) excluded`);

  out.push('', '2. Warm latency in process (DynamoDB Local + upstream on loopback), real handler vs bare I/O path, alternated');
  out.push(
    table(
      ['function', 'n', 'p50', 'p99', 'mean', 'bare p50', 'bare p99', 'x p50', 'x p99', 'errors', 'log B/inv'],
      results.warm.map((w) => [w.functionName, w.invocations, w.real.ms.p50, w.real.ms.p99, w.real.ms.mean, w.baseline.ms.p50, w.baseline.ms.p99, w.overheadP50, w.overheadP99, w.real.errors + w.baseline.errors, w.real.logBytesPerInvocation]),
    ),
  );

  const h = results.http;
  out.push('', `3. Local stack over HTTP, ${h.extends.concurrency} concurrent clients (own process)`);
  out.push(
    table(
      ['run', 'requests', 'per s', 'p50 ms', 'p99 ms', 'errors', 'verified'],
      [
        ['extends', h.extends.requests, h.extends.perSecond, h.extends.latencyMs.p50, h.extends.latencyMs.p99, h.extends.errors, `${h.extends.verified.pendingWithUpstreamId}/${h.extends.requests} tasks pending + upstream id; ${h.extends.verified.upstreamSubmissions} submissions; ${h.extends.verified.problems.length} problems`],
        ['callbacks', h.callbacks.requests, h.callbacks.perSecond, h.callbacks.latencyMs.p50, h.callbacks.latencyMs.p99, h.callbacks.errors, `${h.callbacks.applied} applied (${h.callbacks.appliedPerSecond}/s); ${h.callbacks.verified.tasksAtHighestRank}/${h.callbacks.tasks} at highest rank; lost ${h.callbacks.verified.lost}; regressions ${h.callbacks.verified.regressions} in ${h.callbacks.verified.streamModifies} stream MODIFYs`],
      ],
    ),
  );

  const n = results.notifications;
  out.push('', '   Notifications: status change committed -> signed POST received by the client hook (loopback), local stream poller every 200 ms');
  out.push(
    table(
      ['run', 'tasks', 'delivered', 'lost', 'dup', 'bad sig', 'delay p50', 'delay p99', 'per s', 'changes/s'],
      [
        ['paced', n.paced.tasks, `${n.paced.delivered}/${n.paced.expected}`, n.paced.lost, n.paced.duplicates, n.paced.badSignatures, n.paced.delayMs.p50, n.paced.delayMs.p99, n.paced.perSecond, n.paced.changesPerSecond],
        ['burst', n.burst.tasks, `${n.burst.delivered}/${n.burst.expected}`, n.burst.lost, n.burst.duplicates, n.burst.badSignatures, n.burst.delayMs.p50, n.burst.delayMs.p99, n.burst.perSecond, n.burst.changesPerSecond],
      ],
    ),
  );
  out.push(`   notifier handler alone (batches of 10, back to back): ${n.handlerCapacity.perSecond} notifications/s, ${round(n.handlerCapacity.batchMs.p50, 1)} ms per batch (p50)`);

  const s = results.secretsManager;
  out.push('', `4. Secrets Manager GetSecretValue: ${s.perThousandWarmExtends} per 1000 warm extends; ${s.perColdStart} per cold start of extend (then cached ${s.cacheTtlSeconds} s)`);

  const u = results.dynamoUnits;
  out.push('', `5. DynamoDB per task over its life (${u.tasks} tasks: extend, 3 callbacks, 3 notifications, 1 GET); ${u.method}`);
  out.push(table(['operation', 'table', 'calls', 'RRU', 'WRU', 'step'], u.lines.map((l) => [l.operation, l.table, l.callsPerTask, l.readUnitsPerTask, l.writeUnitsPerTask, l.step])));
  out.push(`   per task: ${u.perTask.calls} calls, ${u.perTask.readUnits} RRU, ${u.perTask.writeUnits} WRU; with an Idempotency-Key +${u.idempotencyKeyExtra.writeUnits} WRU; task item ${u.taskItemBytes} B, delivery item ${u.deliveryItemBytes} B; writes refused by condition ${u.conditionFailedWrites}`);

  const c = results.cost;
  out.push('', `6. Cost per million extend tasks, ${c.prices.region}, list prices as of ${c.prices.asOf}`);
  out.push(table(['item', 'per task', 'unit', 'USD / 1M tasks'], c.lines.map((l) => [l.item, l.quantityPerTask, l.unit, l.usdPerMillionTasks])));
  out.push(`   total: $${c.totalUsdPerMillionTasks} per million tasks; +$${c.perUpstreamSecondUsdPerMillionTasks} per million for each second the upstream takes to accept a submission`);
  out.push(`   fixed per month: ${c.fixedMonthly.map((f) => `${f.item} $${f.usd}`).join('; ')}`);
  for (const note of c.notes) out.push(`   - ${note}`);
  if (results.problems.length > 0) out.push('', 'PROBLEMS:', ...results.problems.map((p) => `  - ${p}`));
  out.push('', `bench ran ${round(m.durationSeconds, 0)} s; results in ${results.meta.outFile}`);
  return out.join('\n') + '\n';
}
