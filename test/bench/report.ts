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
  if (Math.abs(value) < 0.1) return String(Number(value.toPrecision(2)));
  return String(round(value, Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2));
}

const kb = (bytes: number) => `${round(bytes / 1024, 1)} KB`;

const ms3 = (side: { importMs: { p50: number }; firstInvocationMs: { p50: number }; initPlusFirstMs: { p50: number } }) =>
  `${formatNumber(side.importMs.p50)} / ${formatNumber(side.firstInvocationMs.p50)} / ${formatNumber(side.initPlusFirstMs.p50)}`;
type Quantiles = { p50: number; p90: number };
const q = (d: Quantiles) => `${formatNumber(d.p50)} / ${formatNumber(d.p90)}`;
const within = (interval: { lo: number; hi: number }) => `${formatNumber(interval.lo)}-${formatNumber(interval.hi)}`;

function bundlesAndColdStarts(results: BenchResults): string[] {
  const out = ['1. Bundles (minified ESM index.mjs, the synthesized asset) and cold start, fresh node process per run, local stack; real function vs its floor (floor.ts)'];
  const synth = (functionName: string) => {
    const bundle = results.bundles.find((b) => b.functionName === functionName);
    return bundle?.equalsSynth === undefined ? 'n/a' : bundle.equalsSynth ? 'yes' : 'NO';
  };
  out.push(table(['function', 'bundle', 'gzip', 'floor', 'x', '= synth'], results.bundles.map((b) => [b.functionName, kb(b.bytes), kb(b.gzipBytes), kb(b.floorBytes), round(b.bytes / b.floorBytes, 2), synth(b.functionName)])));
  if (!results.coldStart) return out;
  out.push(
    '',
    table(
      ['function', 'node', 'import p50/p90', 'first p50/p90', 'total p50/p90', 'floor import', 'floor first', 'floor total', 'x import', 'x first', 'x total p50 (95%)', 'x p90', 'fail'],
      results.coldStart.map((c) => [
        c.functionName,
        c.runtime,
        q(c.real.importMs),
        q(c.real.firstInvocationMs),
        q(c.real.initPlusFirstMs),
        q(c.floor.importMs),
        q(c.floor.firstInvocationMs),
        q(c.floor.initPlusFirstMs),
        c.ratio.importP50,
        c.ratio.firstP50,
        `${formatNumber(c.ratio.totalP50)} (${within(c.ratio.totalP50Interval)})`,
        c.ratio.totalP90,
        c.real.failures + c.floor.failures,
      ]),
    ),
  );
  const first = results.coldStart[0];
  out.push(
    `   ms; ${first?.runs ?? 0} runs per row, every row of a function once per run in a rotated order; NODE_OPTIONS as deployed (${first?.nodeOptions || 'none'}); both build their SDK clients at the first call; ` +
      `node boot and exit (~${round(results.meta.nodeBootMs, 0)} ms) excluded; (95%): bootstrap interval of the ratio of medians`,
  );
  if (results.upstreamTransport) {
    out.push(
      '',
      '   The upstream POST alone, fresh process: the real client (node:http/node:https, keep-alive agent) vs the global fetch, same submission and parser',
      table(
        ['node', 'node:http import/first/total p50', 'first p90', 'fetch import/first/total p50', 'first p90', 'fetch/node:http first p50 (95%)', 'fail'],
        results.upstreamTransport.map((t) => [
          `${t.runtime} ${t.nodeVersion}`,
          ms3(t.nodeHttp),
          t.nodeHttp.firstInvocationMs.p90,
          ms3(t.fetch),
          t.fetch.firstInvocationMs.p90,
          `${formatNumber(t.firstCallRatio)} (${within(t.firstCallRatioInterval)})`,
          t.nodeHttp.failures + t.fetch.failures,
        ]),
      ),
    );
  }
  return out;
}

function warmLatency(warm: NonNullable<BenchResults['warm']>): string[] {
  return [
    '2. Warm latency, one process per function and runtime importing the bundle and its floor, invoked alternately (DynamoDB Local + upstream on loopback)',
    table(
      ['function', 'node', 'n', 'p50', 'p99', 'mean', 'floor p50', 'floor p99', 'x p50', 'x p99', 'errors', 'log B/inv'],
      warm.map((w) => [w.functionName, w.runtime, w.invocations, w.real.ms.p50, w.real.ms.p99, w.real.ms.mean, w.floor.ms.p50, w.floor.ms.p99, w.ratioP50, w.ratioP99, w.real.errors + w.floor.errors, w.real.logBytesPerInvocation]),
    ),
  ];
}

function overHttp(h: NonNullable<BenchResults['http']>): string[] {
  const e = h.extends;
  const c = h.callbacks;
  return [
    `3. Local stack over HTTP, ${e.concurrency} concurrent clients (own process)`,
    table(
      ['run', 'requests', 'per s', 'p50 ms', 'p99 ms', 'errors', 'verified'],
      [
        ['extends', e.requests, e.perSecond, e.latencyMs.p50, e.latencyMs.p99, e.errors, `${e.verified.pendingWithUpstreamId}/${e.requests} tasks pending + upstream id; ${e.verified.upstreamSubmissions} submissions; ${e.verified.problems.length} problems`],
        ['callbacks', c.requests, c.perSecond, c.latencyMs.p50, c.latencyMs.p99, c.errors, `${c.applied} applied (${c.appliedPerSecond}/s); ${c.verified.tasksAtHighestRank}/${c.tasks} at highest rank; lost ${c.verified.lost}; regressions ${c.verified.regressions} in ${c.verified.streamModifies} stream MODIFYs (${c.verified.mediaSettlements} of them the media settled)`],
      ],
    ),
  ];
}

function notificationRuns(n: NonNullable<BenchResults['notifications']>): string[] {
  const row = (name: string, r: typeof n.paced) => [name, r.tasks, `${r.delivered}/${r.expected}`, r.lost, r.duplicates, r.badSignatures, r.delayMs.p50, r.delayMs.p99, r.perSecond, r.changesPerSecond];
  return [
    '   Notifications: status change committed -> signed POST received by the client hook (loopback); local stream poller: pages of 10, the next at once after a full page, else after 200 ms',
    table(['run', 'tasks', 'delivered', 'lost', 'dup', 'bad sig', 'delay p50', 'delay p99', 'per s', 'changes/s'], [row('paced', n.paced), row('burst', n.burst)]),
    `   task-changes handler alone (batches of 10, back to back): ${n.handlerCapacity.perSecond} notifications/s, ${round(n.handlerCapacity.batchMs.p50, 1)} ms per batch (p50)`,
    table(
      ['paced, beside', 'delivered', 'lost', 'dup', 'delay p50', 'delay p99'],
      [
        ['two healthy clients', `${n.isolation.besideHealthy.delivered}/${n.isolation.besideHealthy.expected}`, n.isolation.besideHealthy.lost, n.isolation.besideHealthy.duplicates, n.isolation.besideHealthy.delayMs.p50, n.isolation.besideHealthy.delayMs.p99],
        ['a hanging and a failing client', `${n.isolation.beside.delivered}/${n.isolation.beside.expected}`, n.isolation.beside.lost, n.isolation.beside.duplicates, n.isolation.beside.delayMs.p50, n.isolation.beside.delayMs.p99],
      ],
    ),
    `   delay beside a hanging and a failing client: x${n.isolation.ratioToAloneP50} (p50) and x${n.isolation.ratioToAloneP99} (p99) of paced alone, x${n.isolation.ratioP50} and x${n.isolation.ratioP99} of beside healthy ones; ${n.isolation.neighbourChanges} of their changes in the same stream, ` +
      `their hooks tried ${n.isolation.hangingAttempts} and ${n.isolation.failingAttempts} times (their endpoints failing before the run: each had cost one first attempt, at most notifyFirstAttemptTimeoutMs)`,
    `   hooks failing at random (${n.randomFailures.answers}; ${n.randomFailures.tasks} tasks over ${n.randomFailures.endpoints} endpoints): ${n.randomFailures.delivered}/${n.randomFailures.expected} delivered, ` +
      `${n.randomFailures.exhausted} exhausted (kept, recoverable), ${n.randomFailures.lost} lost, ${n.randomFailures.acceptedTwice} accepted twice; ${n.randomFailures.attempts} attempts, ${n.randomFailures.failedAttempts} failed; ${n.randomFailures.seconds} s`,
  ];
}

function dynamoUnits(u: NonNullable<BenchResults['dynamoUnits']>): string[] {
  return [
    `5. DynamoDB per task over its life (${u.tasks} tasks: extend, 3 callbacks, 3 notifications, 1 GET); ${u.method}`,
    table(['operation', 'table', 'calls', 'RRU', 'WRU', 'of which GSI', 'step'], u.lines.map((l) => [l.operation, l.table, l.callsPerTask, l.readUnitsPerTask, l.writeUnitsPerTask, l.indexWriteUnitsPerTask, l.step])),
    `   per task: ${u.perTask.calls} calls, ${u.perTask.readUnits} RRU, ${u.perTask.writeUnits} WRU (${u.perTask.indexWriteUnits} of them on indexes: open tasks, owner, due notifications); with an Idempotency-Key +${u.idempotencyKeyExtra.writeUnits} WRU; task item ${u.taskItemBytes} B, delivery item ${u.deliveryItemBytes} B; writes refused by their condition: ${u.conditionFailedWrites}`,
    `   per notification (told at once): ${u.perNotification.writeCalls} writes, ${u.perNotification.writeUnits} WRU (${u.perNotification.indexWriteUnits} on indexes), ${u.perNotification.readCalls} reads, ${u.perNotification.readUnits} RRU`,
    `   limits and usage add ${u.limitsAndUsage.addedWriteUnitsPerTask} WRU per task: the task written alone ${u.limitsAndUsage.taskPutWriteUnits} WRU, in its transaction with the slot and the day's count ${u.limitsAndUsage.admissionTransactionWriteUnits} WRU ` +
      `(+${u.limitsAndUsage.firstOfDayExtraWriteUnits} WRU for a client's first of a UTC day); the usage reaction ${u.limitsAndUsage.reactionWriteUnitsPerTask} WRU in ${u.limitsAndUsage.reactionCallsPerTask} transactions; no read`,
    `   limits run: ${u.limitsRun.submissions} random submissions, ${u.limitsRun.concurrency} at once, a limit of ${u.limitsRun.maxOpenTasks} open tasks: ${u.limitsRun.accepted} accepted, ${u.limitsRun.refusedByLimit} refused (429 42902) in ${u.limitsRun.msTotal} ms; ` +
      `the open-task count sampled ${u.limitsRun.counterSamples.count} times, at most ${u.limitsRun.counterSamples.max} (by value: ${JSON.stringify(u.limitsRun.counterSamples.histogram)}); ` +
      `tasks open in the table sampled ${u.limitsRun.openTaskSamples.count} times, at most ${u.limitsRun.openTaskSamples.max}; within the limit in every sample: ${u.limitsRun.limitRespectedInEverySample}`,
  ];
}

function costLines(c: NonNullable<BenchResults['cost']>): string[] {
  const fronts = ['rest-api', 'function-url', 'http-api'] as const;
  const frontName = { 'rest-api': 'REST API (before)', 'function-url': 'function URL (now)', 'http-api': 'HTTP API (compared)' };
  const at = (front: string, callbacks: number, hook: boolean) => c.scenarios.find((s) => s.front === front && s.callbacks === callbacks && s.notifyHook === hook)!;
  return [
    `6. Cost per million extend tasks, ${c.prices.region}, list prices as of ${c.prices.asOf}; Lambda figures of ${c.assumptions.runtime}`,
    table(
      ['callbacks come through', '1 cb, hook', '1 cb, none', '3 cb, hook', '3 cb, none', '6 cb, hook', '6 cb, none', '+1 callback'],
      fronts.map((front) => [
        frontName[front],
        ...[1, 3, 6].flatMap((n) => [true, false].map((hook) => `$${formatNumber(at(front, n, hook).totalUsdPerMillionTasks)}`)),
        `$${formatNumber(c.perExtraCallbackUsdPerMillionTasks[front])}`,
      ]),
    ),
    `   status changes per task: ${[1, 3, 6].map((n) => `${n} callbacks: ${at('rest-api', n, true).statusChanges}`).join(', ')}; hook: the task-changes consumer's invocations (${c.assumptions.changesPerConsumerInvocation} change each), client reads and attempt records`,
    '',
    `   3 callbacks and a notify_hook, line by line: before (REST API) $${c.before.totalUsdPerMillionTasks}, after (function URL) $${c.after.totalUsdPerMillionTasks}`,
    table(
      ['item', 'per task before', 'USD / 1M before', 'per task after', 'USD / 1M after'],
      c.after.lines.map((line) => {
        const before = c.before.lines.find((b) => b.item.replace(/\(.*\)/, '') === line.item.replace(/\(.*\)/, '')) ;
        return [line.item, before?.quantityPerTask ?? '', before?.usdPerMillionTasks ?? '', line.quantityPerTask, line.usdPerMillionTasks];
      }),
    ),
    `   +$${c.perUpstreamSecondUsdPerMillionTasks} per million for each second the upstream takes to accept a submission`,
    `   fixed per month: ${c.fixedMonthly.map((f) => `${f.item} $${f.usd}`).join('; ')}`,
    ...c.notes.map((note) => `   - ${note}`),
  ];
}

function storedMedia(results: BenchResults): string[] {
  const a = results.assets!;
  const d = a.notificationDelay;
  const out = [
    '8. Stored media (issue 10): the real copy path, a fresh process per run, from a media host on loopback into the local S3 endpoint',
    table(
      ['copy', 'runs', 'MB/s p50', 'ms p50', 'RSS before', 'peak RSS', 'added', 'peak heap+buffers'],
      a.copies.map((c) => [c.label, c.runs, c.mbPerSecond.p50, c.ms.p50, `${c.rssBeforeMb} MB`, `${c.peakRssMb} MB`, `${c.addedRssMb} MB`, `${c.peakHeapAndBuffersMb} MB`]),
    ),
    `   completed notification after the completed callback (${d.tasks} tasks, local stack): p50 ${round(d.completedMs.p50, 1)} ms, p99 ${round(d.completedMs.p99, 1)} ms; ` +
      `processing (no copy waits): p50 ${round(d.processingMs.p50, 1)} ms, p99 ${round(d.processingMs.p99, 1)} ms; added per task: p50 ${round(d.addedMs.p50, 1)} ms, p99 ${round(d.addedMs.p99, 1)} ms`,
  ];
  const m = a.cost;
  {
    out.push(
      `   cost per million completed tasks: $${m.totalUsdPerMillionTasks} (of which data transfer out $${round(m.dataTransferUsdPerMillionTasks, 2)}); the sweep $${m.sweepMonthlyUsd} a month`,
      table(['line', 'per task', 'unit', '$ per million'], m.lines.map((line) => [line.item, line.quantityPerTask, line.unit, line.usdPerMillionTasks])),
    );
  }
  return out;
}

export function renderReport(results: BenchResults): string {
  const m = results.meta;
  const s = results.secretsManager;
  const sections: string[][] = [
    [
      `luma-gateway bench  ${m.date}  commit ${m.gitCommit}${m.gitDirty ? ' (working tree dirty)' : ''}  ${m.cpus}x ${m.cpuModel}${m.quick ? '  QUICK' : ''}`,
      `runtimes: ${m.runtimes.map((r) => `${r.label} ${r.version}${r.lambda ? " (Lambda's major)" : ''}`).join(', ')}; load average at start ${m.loadAverage.start.join(' ')}, at end ${m.loadAverage.end.join(' ')}`,
    ],
    bundlesAndColdStarts(results),
    results.warm ? warmLatency(results.warm) : [],
    results.http ? overHttp(results.http) : [],
    results.notifications ? notificationRuns(results.notifications) : [],
    Number.isFinite(s.perThousandWarmExtends) || Number.isFinite(s.perColdStart)
      ? [`4. Secrets Manager GetSecretValue: ${s.perThousandWarmExtends} per 1000 warm extends; ${s.perColdStart} per cold start of extend (then cached ${s.cacheTtlSeconds} s)`]
      : [],
    results.dynamoUnits ? dynamoUnits(results.dynamoUnits) : [],
    results.cost ? costLines(results.cost) : [],
    results.worstCase
      ? [
          `7. extend at its worst: measured ${results.worstCase.measured.ms} ms (HTTP ${results.worstCase.measured.status}, ${results.worstCase.measured.upstreamAttempts} upstream attempts: a 401 after 9.5 s, then an accepted call never answered); ` +
            `bound with every dependency at its limit ${results.worstCase.boundMs} ms; function timeout ${results.worstCase.timeoutMs} ms, API Gateway 29000 ms`,
        ]
      : [],
    results.assets ? storedMedia(results) : [],
    results.problems.length > 0 ? ['PROBLEMS:', ...results.problems.map((p) => `  - ${p}`)] : [],
    [`bench ran ${round(m.durationSeconds, 0)} s; results in ${m.outFile}`],
  ];
  return sections.filter((section) => section.length > 0).map((section) => section.join('\n')).join('\n\n') + '\n';
}
