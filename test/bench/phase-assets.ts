/**
 * Figure 8: stored media (issue 10).
 *
 * - Copy throughput and peak memory for 10 MB, 100 MB and 300 MB videos, through
 *   the real copy path, each in a fresh process (asset-copy-runner.ts):
 *   from a media host on loopback that streams a valid MP4 of that size
 *   (with its Content-Length: one PutObject piped through; without it:
 *   multipart, 8 MiB parts) into the local S3 endpoint, which checks the
 *   signature, the aws-chunked encoding and its CRC32 and writes to disk.
 *   Memory is the process's RSS and heap-plus-buffers high-water marks,
 *   against its RSS before the copy: what the copy adds must not grow with
 *   the size.
 * - The delay the copy adds to the client's `completed` notification, on the
 *   local stack: for tasks notified one at a time, from the moment the
 *   simulator starts its `completed` callback to the hook receiving the
 *   `completed` notification, against the same delay of the `processing`
 *   notification of the same tasks (no copy waits for it). p50 and p99.
 * - What the stored media cost per completed task (cost.ts storedMediaCost:
 *   S3 requests and storage at list prices, the downloads' transfer out, the
 *   asset worker billed at the 10 MB copy's measured throughput).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { videoSize, videoStream } from '../../lib/local/media';
import { startS3Endpoint } from '../../lib/local/s3-endpoint';
import type { BenchContext } from './context';
import { storedMediaCost, type StoredMediaCost } from './cost';
import { distribution, log, round, type Distribution } from './stats';

const RUNNER = join(__dirname, 'asset-copy-runner.ts');
const BUCKET = 'bench-assets';
const CREDENTIALS = { accessKeyId: 'AKBENCH', secretAccessKey: 'bench-secret' };

export interface CopyFigure {
  readonly label: string;
  readonly bytes: number;
  readonly declaredLength: boolean;
  readonly runs: number;
  readonly mbPerSecond: Distribution;
  readonly ms: Distribution;
  /** Highest over the runs. */
  readonly peakRssMb: number;
  readonly rssBeforeMb: number;
  /** Peak RSS minus the RSS before the copy (highest over the runs). */
  readonly addedRssMb: number;
  readonly peakHeapAndBuffersMb: number;
}

export interface AssetsResult {
  readonly copies: CopyFigure[];
  readonly notificationDelay: {
    readonly tasks: number;
    /** Callback start → hook, ms. */
    readonly completedMs: Distribution;
    readonly processingMs: Distribution;
    /** Per task, completed's delay − processing's: what waiting for the copy adds (small media: the simulator's ~5 KB videos and images). */
    readonly addedMs: Distribution;
  };
  readonly cost: StoredMediaCost;
}

/** Streams a valid MP4 of the size in the path (`/<bytes>.mp4`), with or without Content-Length (`?chunked`). */
async function startVideoHost(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://host');
    const bytes = Number(/^\/(\d+)\.mp4$/.exec(url.pathname)?.[1]);
    if (!Number.isInteger(bytes)) {
      res.writeHead(404).end();
      return;
    }
    const tag = `bench-${bytes}`;
    res.writeHead(200, { 'Content-Type': 'video/mp4', ...(url.searchParams.has('chunked') ? {} : { 'Content-Length': String(videoSize(tag, bytes)) }) });
    videoStream(tag, bytes).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function runCopy(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`asset copy runner failed (${code}): ${stderr.trim().slice(-500)}`));
    });
  });
}

/** The copies measured: 10 and 100 MB (the sizes), both ways for 100 MB, and 300 MB to show that memory does not follow the size. */
export const COPY_CASES = [
  { label: '10 MB, declared length (PutObject)', bytes: 10_000_000, declaredLength: true },
  { label: '100 MB, declared length (PutObject)', bytes: 100_000_000, declaredLength: true },
  { label: '100 MB, chunked (multipart, 8 MiB parts)', bytes: 100_000_000, declaredLength: false },
  { label: '300 MB, declared length (PutObject)', bytes: 300_000_000, declaredLength: true },
  { label: '300 MB, chunked (multipart, 8 MiB parts)', bytes: 300_000_000, declaredLength: false },
] as const;

export async function copyFigures(runs: number, cases: readonly (typeof COPY_CASES)[number][] = COPY_CASES): Promise<CopyFigure[]> {
  const [s3, host] = await Promise.all([startS3Endpoint({ credentials: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey }, buckets: [BUCKET] }), startVideoHost()]);
  try {
    const figures: CopyFigure[] = [];
    for (const c of cases) {
      const samples: { bytes: number; ms: number; mbPerSecond: number; rssBeforeMb: number; peakRssMb: number; peakHeapAndBuffersMb: number }[] = [];
      for (let run = 0; run < runs; run += 1) {
        const media = `${host.url}/${c.bytes}.mp4${c.declaredLength ? '' : '?chunked'}`;
        // A fresh process per run: its memory high-water mark is this copy's alone.
        // Asynchronously: the media host and the S3 endpoint run in this process.
        const stdout = await runCopy([s3.url, BUCKET, CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey, media, `bench/${c.bytes}-${run}`]);
        samples.push(JSON.parse(stdout.trim().split('\n').at(-1)!));
        const stored = await s3.head(BUCKET, `bench/${c.bytes}-${run}`);
        if (stored?.size !== videoSize(`bench-${c.bytes}`, c.bytes)) throw new Error(`the stored object is ${stored?.size} bytes, not ${c.bytes}`);
      }
      const peak = Math.max(...samples.map((s) => s.peakRssMb));
      figures.push({
        ...c,
        runs,
        mbPerSecond: distribution(samples.map((s) => s.mbPerSecond)),
        ms: distribution(samples.map((s) => s.ms)),
        peakRssMb: round(peak, 1),
        rssBeforeMb: round(Math.max(...samples.map((s) => s.rssBeforeMb)), 1),
        addedRssMb: round(Math.max(...samples.map((s) => s.peakRssMb - s.rssBeforeMb)), 1),
        peakHeapAndBuffersMb: round(Math.max(...samples.map((s) => s.peakHeapAndBuffersMb)), 1),
      });
      log(`  copy ${c.label}: ${round(figures.at(-1)!.mbPerSecond.p50, 1)} MB/s, peak RSS ${round(peak, 1)} MB (+${figures.at(-1)!.addedRssMb} MB)`);
    }
    return figures;
  } finally {
    await new Promise((resolve) => host.server.close(resolve));
    await s3.stop();
  }
}

async function notificationDelay(ctx: BenchContext, tasks: number): Promise<AssetsResult['notificationDelay']> {
  const { stack, sim, hook } = ctx;
  const completed: number[] = [];
  const processing: number[] = [];
  for (let i = 0; i < tasks; i += 1) {
    const response = await fetch(`${stack.url}/luma/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.clientKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_prompt: `stored media ${i}`, notify_hook: hook.url }),
    });
    const taskId = ((await response.json()) as { data: { task_id: string } }).data.task_id;
    const told = async (status: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const found = hook.received.find((n) => n.body.includes(taskId) && JSON.parse(n.body).task_status === status);
        if (found) return found.receivedAtMs;
        if (Date.now() > deadline) throw new Error(`task ${taskId}: no ${status} notification within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const [processingAt, completedAt] = await Promise.all([told('processing'), told('completed')]);
    const callbacks = sim.callbacks.filter((d) => d.url.includes(`/luma/callbacks/${taskId}.`));
    const startOf = (state: string) => callbacks.find((d) => d.state === state)!.at;
    processing.push(processingAt - startOf('processing'));
    completed.push(completedAt - startOf('completed'));
  }
  return { tasks, completedMs: distribution(completed), processingMs: distribution(processing), addedMs: distribution(completed.map((ms, i) => ms - processing[i])) };
}

export async function assetsPhase(ctx: BenchContext, { copyRuns, delayTasks }: { copyRuns: number; delayTasks: number }): Promise<AssetsResult> {
  const copies = await copyFigures(copyRuns);
  const delay = await notificationDelay(ctx, delayTasks);
  log(`  completed notification: p50 ${round(delay.completedMs.p50, 1)} ms, p99 ${round(delay.completedMs.p99, 1)} ms after the callback (processing: p50 ${round(delay.processingMs.p50, 1)}, p99 ${round(delay.processingMs.p99, 1)})`);
  return { copies, notificationDelay: delay, cost: storedMediaCost(copies[0].mbPerSecond.p50) };
}
