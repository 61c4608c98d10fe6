/**
 * One media copy in a fresh process, for phase-assets.ts: the real copy
 * path (functions/adapters/media-copy.ts and s3-objects.ts, the worker's
 * default 8 MiB parts) from a media host on loopback into the local S3
 * endpoint, with the process's memory sampled every 10 ms. Prints one JSON
 * line: bytes, milliseconds, throughput, and the RSS and heap high-water
 * marks (and the RSS before the copy, the process's own floor).
 *
 *   tsx asset-copy-runner.ts <s3 url> <bucket> <access key> <secret> <media url> <key>
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createMediaCopier } from '../../functions/adapters/media-copy';
import { createObjectWriter } from '../../functions/adapters/s3-objects';

async function main() {
  const [s3Url, bucket, accessKeyId, secretAccessKey, mediaUrl, key] = process.argv.slice(2);
  const client = new S3Client({ region: 'us-east-1', endpoint: s3Url, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  const copy = createMediaCopier({ writer: createObjectWriter({ client, bucket }) });
  // Warm the modules and the client (a first tiny request), so the figures are the copy's own.
  global.gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed + before.external + before.arrayBuffers;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed + now.external + now.arrayBuffers);
  }, 10);
  const started = performance.now();
  const outcome = await copy({ url: mediaUrl, key, kind: 'video', family: 'video', maxBytes: 5 * 1024 ** 3, deadlineAtMs: Date.now() + 600_000, policy: { allowLoopbackHttp: true } });
  const ms = performance.now() - started;
  clearInterval(sampler);
  const after = process.memoryUsage();
  peakRss = Math.max(peakRss, after.rss, process.resourceUsage().maxRSS * 1024);
  client.destroy();
  if (!outcome.ok) throw new Error(`the copy failed: ${outcome.error}`);
  console.log(
    JSON.stringify({
      bytes: outcome.bytes,
      ms,
      mbPerSecond: outcome.bytes / 1e6 / (ms / 1000),
      rssBeforeMb: before.rss / 2 ** 20,
      peakRssMb: peakRss / 2 ** 20,
      peakHeapAndBuffersMb: peakHeap / 2 ** 20,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
