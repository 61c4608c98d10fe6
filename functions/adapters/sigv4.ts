/**
 * AWS Signature Version 4 on the SDK's own signer (@smithy/signature-v4,
 * already in every bundle through the DynamoDB client), with node:crypto's
 * SHA-256: what the presigned links of the stored media (s3-presign.ts) and
 * the asset worker's asynchronous start (asset-worker-invoke.ts) sign with,
 * without the S3 or Lambda client (100 and 71 KB of bundle).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { SignatureV4 } from '@smithy/signature-v4';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (data: SourceData) => (typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data));

/** The hash constructor the signer takes (a Checksum): SHA-256, or HMAC-SHA-256 with a key. */
class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(this.secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/**
 * A signer for one service and region, with the function's own credentials
 * (Lambda's environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN) unless others are given. S3 wants its paths encoded
 * once and no payload checksum added; the other services, the defaults.
 */
export function signerFor(service: string, region: string, credentials: SigningCredentials = fromEnv(), s3 = service === 's3'): SignatureV4 {
  return new SignatureV4({ service, region, credentials, sha256: Sha256, ...(s3 && { uriEscapePath: false, applyChecksum: false }) });
}
