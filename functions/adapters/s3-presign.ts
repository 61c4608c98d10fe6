/**
 * Presigned GET URLs of the stored media (AssetLinks, functions/domain/ports.ts):
 * a Signature Version 4 query-string signature made with the SDK's own
 * signer (sigv4.ts) the way @aws-sdk/s3-request-presigner makes it
 * (UNSIGNED-PAYLOAD, S3's single URI encoding, the host signed), without
 * the S3 client the presigner needs (test/unit/s3-presign.test.ts holds the
 * URLs equal; the bundle cost of both is in the README).
 *
 * Signed with the function's own credentials (Lambda's environment): a URL
 * works until its lifetime ends or, sooner, when the role session that
 * signed it does. No I/O: signing is local.
 *
 * The endpoint: AWS_ENDPOINT_URL_S3 when set (the local stack's S3 endpoint,
 * path-style), else the bucket's regional virtual-hosted endpoint.
 */
import type { AssetLinks } from '#domain/ports';
import { signerFor, type SigningCredentials } from './sigv4';

/** An S3 key as a URL path: each segment RFC 3986-encoded, as the SDK sends it. */
export function keyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

export interface PresignerOptions {
  readonly bucket: string;
  readonly region: string;
  /** Lifetime of each URL, in seconds (at most 7 days, S3's limit). */
  readonly lifetimeSeconds: number;
  /** An S3-compatible endpoint (path-style); the bucket's AWS endpoint when undefined. */
  readonly endpoint?: string;
  /** The signing identity; the function's environment (AWS_ACCESS_KEY_ID, ...) by default. */
  readonly credentials?: SigningCredentials;
  /** For tests: the signing time. */
  readonly now?: () => Date;
}

export function createPresigner(options: PresignerOptions): AssetLinks {
  const signer = signerFor('s3', options.region, options.credentials);
  const base = options.endpoint === undefined ? undefined : new URL(options.endpoint);
  return {
    lifetimeSeconds: options.lifetimeSeconds,
    url: async (key) => {
      const request = base
        ? { protocol: base.protocol, hostname: base.hostname, port: base.port === '' ? undefined : Number(base.port), path: `${base.pathname.replace(/\/$/, '')}/${options.bucket}/${keyPath(key)}` }
        : { protocol: 'https:', hostname: `${options.bucket}.s3.${options.region}.amazonaws.com`, port: undefined, path: `/${keyPath(key)}` };
      const host = request.port === undefined ? request.hostname : `${request.hostname}:${request.port}`;
      const signed = await signer.presign(
        { method: 'GET', ...request, headers: { host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' }, query: { 'x-id': 'GetObject' } },
        { expiresIn: options.lifetimeSeconds, signingDate: options.now?.() },
      );
      const query = Object.entries(signed.query ?? {})
        .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
        .join('&');
      return `${request.protocol}//${host}${request.path}?${query}`;
    },
  };
}
