/**
 * Starts the asset worker on one task (AssetCopyStarter, functions/domain/ports.ts):
 * an asynchronous Lambda invocation (InvocationType Event), answered 202 as
 * soon as Lambda has queued it, so the stream consumer never waits for a
 * copy. One that is lost is run by the worker's own schedule (its sweep).
 * The local stack's Lambda endpoint (lib/local/lambda-endpoint.ts) answers
 * the same request through AWS_ENDPOINT_URL_LAMBDA.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { AssetCopyStarter } from '#domain/ports';
import { AWS_CLIENT_CONFIG } from './aws-client-config';

/** The event the asset worker gets for one task (its schedule sends a ScheduledEvent instead). */
export interface AssetWorkerEvent {
  readonly task_id: string;
}

export function createAssetCopyStarter(functionName: string, client = new LambdaClient(AWS_CLIENT_CONFIG)): AssetCopyStarter {
  return async (taskId) => {
    const event: AssetWorkerEvent = { task_id: taskId };
    const { StatusCode } = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }));
    if (StatusCode !== 202) throw new Error(`Lambda answered ${StatusCode} to an asynchronous invocation of ${functionName}`);
  };
}
