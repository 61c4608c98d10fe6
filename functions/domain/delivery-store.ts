/**
 * Every notification attempt, so a client can see what was sent to its hook
 * and how the hook answered (GET /luma/generations/{task_id}/deliveries).
 */
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { guarded } from './dynamo';
import type { TaskStatus } from './task';

export interface DeliveryAttempt {
  readonly task_id: string;
  /** Sorts attempts in time order: `<attempted_at ms>#<webhook id>#<attempt>`. */
  readonly attempt_id: string;
  readonly webhook_id: string;
  readonly task_status: TaskStatus;
  readonly attempt: number;
  readonly attempted_at: number;
  readonly outcome: 'delivered' | 'failed' | 'refused';
  readonly http_status?: number;
  readonly error?: string;
  readonly duration_ms: number;
  readonly expires_at: number;
}

/** What a client sees of an attempt. */
export type DeliveryView = Omit<DeliveryAttempt, 'attempt_id' | 'expires_at'>;

export interface DeliveryStore {
  record(attempt: DeliveryAttempt): Promise<void>;
  /** The latest attempts of a task, oldest first. */
  list(taskId: string, limit: number): Promise<DeliveryView[]>;
}

export function createDeliveryStore({ client, deliveriesTable }: { client: DynamoDBDocumentClient; deliveriesTable: string }): DeliveryStore {
  return {
    record: (attempt) => guarded(async () => void (await client.send(new PutCommand({ TableName: deliveriesTable, Item: attempt })))),
    list: (taskId, limit) =>
      guarded(async () => {
        const { Items = [] } = await client.send(
          new QueryCommand({
            TableName: deliveriesTable,
            KeyConditionExpression: 'task_id = :task',
            ExpressionAttributeValues: { ':task': taskId },
            ScanIndexForward: false,
            Limit: limit,
          }),
        );
        return Items.reverse().map(({ attempt_id: _id, expires_at: _ttl, ...view }) => view as DeliveryView);
      }),
  };
}
