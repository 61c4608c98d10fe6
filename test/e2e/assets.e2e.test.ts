/**
 * Stored media end to end (issue 10), through the local stack: the
 * simulator serves real media at links that die (403) after a few seconds,
 * as the upstreams' presigned links do after an hour; the asset worker,
 * started by the task-changes consumer, streams them into the local S3
 * endpoint; the client's `completed` notification waits for the copy and
 * links the stored objects, and so does every GET, long after the
 * upstream's links died. A copy that keeps failing ends failed, and the
 * client is told so, with the upstream's link and the reason.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { localDynamoClient } from '../../lib/local/dynamodb-local';
import { invokeFunction } from '../../lib/local/lambda-runtime';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { videoStream } from '../../lib/local/media';
import type { UpstreamSimulator } from '../../lib/local/upstream-simulator';
import { checkResponsesFrom } from '../support/api-responses';
import { testEndpoint } from '../support/dynamo';
import { startHookServer, type HookServer, type ReceivedNotification } from '../support/hook-server';

jest.setTimeout(60_000);

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
// Long enough for the copy on a busy machine, short enough to wait for.
const LINK_TTL_SECONDS = 8;

let stack: LocalStack;
let sim: UpstreamSimulator;
let doc: DynamoDBDocumentClient;
let hook: HookServer;
const errors: string[] = [];

beforeAll(async () => {
  [stack, hook] = await Promise.all([
    startLocalStack({
      env: {},
      port: 0,
      dynamoEndpoint: testEndpoint(),
      tablePrefix: `assets${randomBytes(4).toString('hex')}_`,
      mediaLinkTtlSeconds: LINK_TTL_SECONDS,
      // Three attempts a second apart, then failed.
      assetRetrySchedule: [0, 1, 1],
      assetSweepEveryMs: 200,
      deliveryWorkerEveryMs: 200,
      simulator: { seed: 10, stepDelayMs: 100 },
      accessLog: false,
      errorLog: (line) => errors.push(line),
    }),
    startHookServer(),
  ]);
  checkResponsesFrom(stack.url);
  sim = stack.upstream!;
  doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint), { marshallOptions: { removeUndefinedValues: true } });
});
afterAll(async () => {
  await stack?.stop();
  await hook?.close();
  doc?.destroy();
});
afterEach(() => sim.reset());

const call = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${stack.clientKey}`, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
};

async function until<T>(read: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const bodyOf = (n: ReceivedNotification) => JSON.parse(n.body) as Record<string, any>;
const completedFor = (taskId: string) => () => hook.received.map(bodyOf).find((body) => body.task_id === taskId && body.task_status === 'completed');
const taskItem = async (taskId: string) => (await doc.send(new GetCommand({ TableName: stack.tableNames.tasks, Key: { task_id: taskId } }))).Item!;
const download = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type') };
};
/** The bytes the simulator serves at an upstream video link (lib/local/media.ts: a valid MP4 tagged with its generation and file). */
const upstreamVideoBytes = async (link: string) => {
  const [, , id, file] = new URL(link).pathname.split('/');
  const parts: Buffer[] = [];
  for await (const chunk of videoStream(`${id}/${file}`, 0)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
};

async function extend(prompt: string): Promise<string> {
  const { status, body } = await call('POST', `/luma/generations/${PARENT}/extend`, { user_prompt: prompt, notify_hook: hook.url });
  expect(status).toBe(200);
  return body.data.task_id;
}

test('a completed task: told once its media are stored, and its links still download the same bytes after the upstream\'s died', async () => {
  const taskId = await extend('stored media');
  const told = await until(completedFor(taskId), 'the completed notification');
  expect(told).toMatchObject({ asset_state: 'stored', asset_failure_reason: null });
  const stored = (url: string) => url.startsWith(`${stack.s3.url}/${stack.assetBucket}/tasks/${taskId}/`);
  for (const field of ['video_url', 'video_raw_url', 'thumbnail_url', 'last_frame_url']) expect(stored(told[field])).toBe(true);
  expect(told.urls_expire_at).toBeGreaterThan(Date.now() / 1000);

  // What the upstream gave: the task item keeps its links, and the stored keys.
  const item = await taskItem(taskId);
  expect(item.asset_keys).toEqual({ video: `tasks/${taskId}/video`, video_raw: `tasks/${taskId}/video_raw`, thumbnail: `tasks/${taskId}/thumbnail`, last_frame: `tasks/${taskId}/last_frame` });
  const expected = await upstreamVideoBytes(item.video_url);
  const expectedRaw = await upstreamVideoBytes(item.video_raw_url);
  expect(expected.equals(expectedRaw)).toBe(false);

  // The notification's link downloads at once.
  const fromNotification = await download(told.video_url);
  expect(fromNotification).toMatchObject({ status: 200, type: 'video/mp4' });
  expect(fromNotification.bytes.equals(expected)).toBe(true);

  // The upstream's links die...
  await until(async () => ((await download(item.video_url)).status === 403 ? true : undefined), "the upstream's link expiring", 20_000);
  // ... and GET gives fresh links to the same bytes.
  const { status, body } = await call('GET', `/luma/generations/${taskId}`);
  expect(status).toBe(200);
  expect(body.data).toMatchObject({ task_status: 'completed', asset_state: 'stored' });
  expect(body.data.video_url).not.toBe(told.video_url);
  const video = await download(body.data.video_url);
  expect(video.status).toBe(200);
  expect(video.bytes.equals(expected)).toBe(true);
  expect((await download(body.data.video_raw_url)).bytes.equals(expectedRaw)).toBe(true);
  // So do the listing and the batch read: every read of the task links the stored copies afresh.
  const listed = await call('GET', '/luma/generations?status=completed&limit=100');
  expect(listed.status).toBe(200);
  const fromListing = listed.body.data.tasks.find((task: any) => task.task_id === taskId);
  expect(fromListing).toMatchObject({ asset_state: 'stored', urls_expire_at: expect.any(Number) });
  expect((await download(fromListing.video_url)).bytes.equals(expected)).toBe(true);
  const batch = await call('POST', '/luma/tasks', { ids: [taskId] });
  expect(batch.status).toBe(200);
  expect((await download(batch.body.data.tasks[0].last_frame_url)).status).toBe(200);
  expect((await download(batch.body.data.tasks[0].video_raw_url)).bytes.equals(expectedRaw)).toBe(true);
  const thumbnail = await download(body.data.thumbnail_url);
  expect(thumbnail).toMatchObject({ status: 200, type: 'image/jpeg' });
  expect(thumbnail.bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));

  // Extending it still names the upstream's generation, whatever is stored.
  const extended = await call('POST', `/luma/generations/${taskId}/extend`, { user_prompt: 'and then' });
  expect(extended.status).toBe(200);
  expect(sim.requests.filter((r) => r.method === 'POST').at(-1)!.path).toBe(`/luma/generations/${item.upstream_id}/extend`);

  // Told once; a second run of the worker on the task copies nothing again and changes no object.
  const before = await stack.s3.head(stack.assetBucket, `tasks/${taskId}/video`);
  const puts = stack.s3.counts.PutObject ?? 0;
  expect(await invokeFunction('asset-worker', { task_id: taskId })).toEqual({ result: 'not-claimed' });
  expect(stack.s3.counts.PutObject ?? 0).toBe(puts);
  expect(await stack.s3.head(stack.assetBucket, `tasks/${taskId}/video`)).toEqual(before);
  expect(hook.received.map(bodyOf).filter((b) => b.task_id === taskId && b.task_status === 'completed')).toHaveLength(1);
});

test('a copy that keeps failing ends failed: the client is told completed, with the upstream\'s links and the reason', async () => {
  sim.setFaults({ mediaStatus: 503 });
  const requestsBefore = sim.mediaRequests;
  const taskId = await extend('media down');
  const told = await until(completedFor(taskId), 'the completed notification');
  expect(told.asset_state).toBe('failed');
  expect(told.asset_failure_reason).toMatch(/^video: the media link answered HTTP 503.*every planned attempt failed/);
  const item = await taskItem(taskId);
  expect(told.video_url).toBe(item.video_url);
  expect(told.urls_expire_at).toBeNull();
  // Three attempts of each of the four media.
  expect(sim.mediaRequests - requestsBefore).toBe(12);
  expect(await stack.s3.keys(stack.assetBucket)).not.toContainEqual(expect.stringContaining(taskId));
  const { body } = await call('GET', `/luma/generations/${taskId}`);
  expect(body.data).toMatchObject({ asset_state: 'failed', asset_failure_reason: told.asset_failure_reason, video_url: item.video_url });
});

test('nothing went wrong in the background', () => {
  expect(errors).toEqual([]);
});
