/** One DynamoDB document client per container, and the error rule every store follows. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ExpectedOutcome, isDomainError, storeUnavailable } from '#domain/errors';
import { AWS_CLIENT_CONFIG } from '../aws-client-config';

let shared: DynamoDBDocumentClient | undefined;

/** The SDK reads AWS_ENDPOINT_URL_DYNAMODB, so the local stack needs no code path of its own. Timeouts and attempts: aws-client-config.ts. */
export function documentClient(): DynamoDBDocumentClient {
  shared ??= DynamoDBDocumentClient.from(new DynamoDBClient(AWS_CLIENT_CONFIG), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return shared;
}

/** Every item of a paged Query or Scan: `page` reads one page from a start key (none: the first). */
export async function allPages<T>(page: (start: Record<string, unknown> | undefined) => Promise<{ Items?: unknown[]; LastEvaluatedKey?: Record<string, unknown> }>): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const { Items, LastEvaluatedKey } = await page(start);
    items.push(...((Items ?? []) as T[]));
    start = LastEvaluatedKey;
  } while (start);
  return items;
}

export function isConditionFailure(error: unknown): boolean {
  return (error as Error)?.name === 'ConditionalCheckFailedException';
}

/**
 * Anything DynamoDB throws that the caller did not expect (throttling,
 * an outage, a network fault) becomes `unavailable` (a 503 for a client);
 * the cause is kept for the logs.
 */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isDomainError(error) || error instanceof ExpectedOutcome) throw error;
    throw Object.assign(storeUnavailable(), { cause: error });
  }
}
