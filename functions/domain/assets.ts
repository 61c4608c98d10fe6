/**
 * A completed task's media in the gateway's own storage (issue 10): which
 * media a task has, where each is stored (a key under the task's id, the
 * same whatever its type, so a second copy replaces the first rather than
 * adding another), and the links a client is given: a presigned URL of the
 * stored object, signed afresh at every GET and every notification attempt,
 * where one is stored; the upstream's own link where none is (yet).
 */
import type { AssetLinks } from './ports';
import type { TaskItem } from './task';
import type { TaskView } from './views';

export const MEDIA_KINDS = ['video', 'video_raw', 'thumbnail', 'last_frame'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** What a medium must be: its Content-Type's top-level type. */
export type MediaFamily = 'video' | 'image';

type LinkField = 'video_url' | 'video_raw_url' | 'thumbnail_url' | 'last_frame_url';

/** Each medium: the task field holding the upstream's link (the same name in the view holds the client's link), and what it must be. */
export const MEDIA: Readonly<Record<MediaKind, { readonly field: LinkField; readonly family: MediaFamily }>> = {
  video: { field: 'video_url', family: 'video' },
  // The no-watermark video, when the upstream offers one.
  video_raw: { field: 'video_raw_url', family: 'video' },
  thumbnail: { field: 'thumbnail_url', family: 'image' },
  last_frame: { field: 'last_frame_url', family: 'image' },
};

/** Stored object keys, by medium: what the task record's `asset_keys` holds. */
export type AssetKeys = { readonly [K in MediaKind]?: string };

/** The prefix of every stored medium's key (the bucket's lifecycle rule and grants are on it). */
export const ASSET_KEY_PREFIX = 'tasks/';

/** Where a task's medium is stored: `tasks/<task id>/<medium>`, whatever its type (the type and file name are the object's metadata). */
export function assetKey(taskId: string, kind: MediaKind): string {
  return `${ASSET_KEY_PREFIX}${taskId}/${kind}`;
}

/** The media the upstream gave a task, in a fixed order (the video first). */
export function upstreamMedia(task: Pick<TaskItem, LinkField>): { kind: MediaKind; url: string; family: MediaFamily }[] {
  return MEDIA_KINDS.flatMap((kind) => {
    const url = task[MEDIA[kind].field];
    return url === undefined || url === '' ? [] : [{ kind, url, family: MEDIA[kind].family }];
  });
}

/** File name extensions of the types stored, for the object's Content-Disposition. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

/** The file name a stored medium downloads as (`video.mp4`, `thumbnail.jpg`). */
export function fileNameOf(kind: MediaKind, contentType: string): string {
  const extension = EXTENSIONS[contentType] ?? contentType.split('/')[1]?.replace(/[^a-z0-9]/g, '');
  return extension ? `${kind}.${extension}` : kind;
}

/**
 * The view a client is shown: each stored medium's link is a fresh
 * presigned URL of the stored object (and `urls_expire_at` says until
 * when); the others keep the upstream's link.
 */
export async function withStoredLinks(view: TaskView, keys: AssetKeys | undefined, links: AssetLinks | undefined, nowMs: number): Promise<TaskView> {
  const stored = MEDIA_KINDS.filter((kind) => keys?.[kind] !== undefined);
  if (stored.length === 0) return view;
  if (links === undefined) throw new Error('stored media without a presigner: this function cannot hand out links to them');
  const signed = await Promise.all(stored.map(async (kind) => [MEDIA[kind].field, await links.url(keys![kind]!)] as const));
  return { ...view, ...Object.fromEntries(signed), urls_expire_at: Math.floor(nowMs / 1000) + links.lifetimeSeconds };
}

/** A notification body, as it goes out at one attempt: the stored view it holds, with fresh links when it names stored media. */
export async function bodyAtAttempt(message: { readonly payload: string; readonly asset_keys?: AssetKeys }, links: AssetLinks | undefined, nowMs: number): Promise<string> {
  if (message.asset_keys === undefined) return message.payload;
  return JSON.stringify(await withStoredLinks(JSON.parse(message.payload) as TaskView, message.asset_keys, links, nowMs));
}
