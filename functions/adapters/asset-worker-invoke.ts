/**
 * Starts the asset worker on one task (AssetCopyStarter, functions/domain/ports.ts):
 * an asynchronous Lambda invocation (the Invoke API, InvocationType Event),
 * answered 202 as soon as Lambda has queued it, so the stream consumer
 * never waits for a copy. One that fails or is lost is run by the worker's
 * own schedule (its sweep).
 *
 * One signed HTTPS request (sigv4.ts), not the Lambda client: the
 * task-changes consumer, the one reader of the task stream, stays 71 KB
 * smaller (test/budgets). Bounded as every AWS call of the functions
 * (functions/time-budget.ts: connect and request timeouts), one attempt.
 * The endpoint: AWS_ENDPOINT_URL_LAMBDA when set (the local stack's Lambda
 * endpoint, lib/local/lambda-endpoint.ts), else Lambda's regional one.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AssetCopyStarter } from '#domain/ports';
import { AWS_CALL } from '../time-budget';
import { signerFor, type SigningCredentials } from './sigv4';

/** The event the asset worker gets for one task (its schedule sends a ScheduledEvent instead). */
export interface AssetWorkerEvent {
  readonly task_id: string;
}

export interface StarterOptions {
  readonly functionName: string;
  readonly region: string;
  /** Lambda's endpoint; the region's by default. */
  readonly endpoint?: string;
  readonly credentials?: SigningCredentials;
}

export function createAssetCopyStarter({ functionName, region, endpoint, credentials }: StarterOptions): AssetCopyStarter {
  const signer = signerFor('lambda', region, credentials);
  const base = new URL(endpoint ?? `https://lambda.${region}.amazonaws.com`);
  const path = `${base.pathname.replace(/\/$/, '')}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
  return async (taskId) => {
    const event: AssetWorkerEvent = { task_id: taskId };
    const body = JSON.stringify(event);
    const port = base.port === '' ? undefined : Number(base.port);
    const signed = await signer.sign({
      method: 'POST',
      protocol: base.protocol,
      hostname: base.hostname,
      port,
      path,
      query: {},
      headers: {
        host: base.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'x-amz-invocation-type': 'Event',
      },
      body,
    });
    const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
    const status = await new Promise<number>((resolve, reject) => {
      const request = send({ method: 'POST', hostname: base.hostname, port, path, headers: signed.headers, timeout: AWS_CALL.connectionTimeoutMs + AWS_CALL.requestTimeoutMs }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`Lambda did not answer within ${AWS_CALL.connectionTimeoutMs + AWS_CALL.requestTimeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
    if (status !== 202) throw new Error(`Lambda answered HTTP ${status} to the asynchronous invocation of ${functionName}`);
  };
}
