/**
 * The two shapes an upstream answers in (SPEC section 2), and callbacks
 * carry: a raw Luma generation object, or the aggregator's wrapped form.
 * Both are normalised into one UpstreamGeneration (functions/domain/ports.ts).
 * Unknown fields are allowed.
 */
import * as z from 'zod/mini';
import type { UpstreamGeneration, UpstreamReport } from '#domain/ports';
import { statusFromUpstream } from '#domain/task';

let built: ReturnType<typeof buildShapes> | undefined;

/** The two shapes, built on first use: a bundle that never parses one (the authorizer's, say) carries no zod. */
function shapes() {
  built ??= buildShapes();
  return built;
}

function buildShapes() {
  const nullableString = z.optional(z.nullable(z.string()));
  const mediaRef = z.optional(z.nullable(z.union([z.string(), z.looseObject({ url: nullableString, download_url: nullableString })])));
  const timestamp = z.optional(z.nullable(z.union([z.string(), z.number()])));

  /** Raw Luma generation: the seed's example, and the official API's `assets` form. */
  const raw = z.looseObject({
    id: z.string().check(z.minLength(1)),
    state: nullableString,
    status: nullableString,
    created_at: timestamp,
    updated_at: timestamp,
    video: mediaRef,
    video_raw: mediaRef,
    thumbnail: mediaRef,
    last_frame: mediaRef,
    failure_reason: nullableString,
    assets: z.optional(
      z.nullable(z.looseObject({ video: nullableString, image: nullableString, last_frame: nullableString })),
    ),
  });

  /** The aggregator's envelope: {code, message, request_id, data: {task_id, task_status, ...}}. */
  const wrapped = z.looseObject({
    code: z.optional(z.union([z.number(), z.string()])),
    message: nullableString,
    data: z.looseObject({
      task_id: z.string().check(z.minLength(1)),
      task_status: nullableString,
      created_at: timestamp,
      updated_at: timestamp,
      failure_reason: nullableString,
      fail_reason: nullableString,
      task_result: z.optional(
        z.nullable(
          z.looseObject({
            videos: z.optional(z.nullable(z.array(z.looseObject({ url: nullableString, cover_url: nullableString })))),
            thumbnail_url: nullableString,
            last_frame_url: nullableString,
          }),
        ),
      ),
    }),
  });
  return { raw, wrapped };
}

/**
 * An aggregator's error envelope, whatever the HTTP status it came with:
 * `{"code": <non-zero>, "message": ..., "data": null}`: a definite refusal,
 * with the upstream's own code and message.
 */
export function envelopeRefusal(body: unknown): { code: string; message?: string } | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const { code, message, data } = body as Record<string, unknown>;
  if ((typeof code !== 'number' && typeof code !== 'string') || code === '' || Number(code) === 0 || Number(code) === 200) return undefined;
  if (data !== null && data !== undefined) return undefined;
  return { code: String(code), message: typeof message === 'string' && message.trim() !== '' ? message : undefined };
}

/** A callback's body (POST /luma/callbacks/{token}): either shape, as the OpenAPI document states it. */
export function upstreamGenerationSchema() {
  const { raw, wrapped } = shapes();
  return z.union([raw, wrapped]).check(
    z.meta({ id: 'UpstreamGeneration', description: 'A raw Luma generation object, or the wrapped form {code, message, data: {task_id, task_status, ...}}. Unknown fields are allowed.' }),
  );
}

/** ISO strings, unix seconds or unix milliseconds, to unix seconds. */
export function toUnixSeconds(value: string | number | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value === 'number' || /^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) return undefined;
    return Math.floor(n > 1e11 ? n / 1000 : n);
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

function urlOf(ref: string | { url?: string | null } | null | undefined): string | undefined {
  if (ref === null || ref === undefined) return undefined;
  const url = typeof ref === 'string' ? ref : ref.url;
  return url ? url : undefined;
}

function present(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}

function finalise(generation: Omit<UpstreamGeneration, 'status'> & { rawState?: string }): UpstreamGeneration {
  let status = statusFromUpstream(generation.rawState);
  if (status === 'completed' && !generation.videoUrl) status = 'processing';
  return { ...generation, status };
}

/** Accepts either shape. Returns what was wrong when neither fits. */
export function parseUpstreamGeneration(body: unknown): UpstreamReport {
  const wrapped = shapes().wrapped.safeParse(body);
  if (wrapped.success) {
    const { code, data } = wrapped.data;
    if (code !== undefined && Number(code) !== 0 && Number(code) !== 200) {
      return { ok: false, problem: `upstream answered code ${code}: ${wrapped.data.message ?? 'no message'}` };
    }
    const video = data.task_result?.videos?.find((v) => present(v.url));
    return {
      ok: true,
      generation: finalise({
        id: data.task_id,
        rawState: present(data.task_status),
        videoUrl: present(video?.url),
        thumbnailUrl: present(video?.cover_url) ?? present(data.task_result?.thumbnail_url),
        lastFrameUrl: present(data.task_result?.last_frame_url),
        failureReason: present(data.failure_reason) ?? present(data.fail_reason),
        updatedAt: toUnixSeconds(data.updated_at) ?? toUnixSeconds(data.created_at),
      }),
    };
  }
  const raw = shapes().raw.safeParse(body);
  if (raw.success) {
    const g = raw.data;
    return {
      ok: true,
      generation: finalise({
        id: g.id,
        rawState: present(g.state) ?? present(g.status),
        videoUrl: urlOf(g.video) ?? present(g.assets?.video),
        videoRawUrl: urlOf(g.video_raw),
        thumbnailUrl: urlOf(g.thumbnail) ?? present(g.assets?.image),
        lastFrameUrl: urlOf(g.last_frame) ?? present(g.assets?.last_frame),
        failureReason: present(g.failure_reason),
        updatedAt: toUnixSeconds(g.updated_at) ?? toUnixSeconds(g.created_at),
      }),
    };
  }
  return { ok: false, problem: 'neither a Luma generation object (id, state) nor a wrapped task (data.task_id, data.task_status)' };
}
