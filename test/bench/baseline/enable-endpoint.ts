/** Baseline for enable-endpoint: one conditional UpdateItem of the caller's endpoint; nothing else. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { db, reply, s } from './bare';

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  try {
    const { Attributes } = await db.send(
      new UpdateItemCommand({
        TableName: process.env.ENDPOINTS_TABLE!,
        Key: { client_id: s(String(event.requestContext.authorizer?.clientId)), endpoint_id: s(String(event.pathParameters?.endpoint_id)) },
        UpdateExpression: 'SET endpoint_state = :e REMOVE disabled_reason, disabled_at, failing_since',
        ConditionExpression: 'attribute_exists(endpoint_id)',
        ExpressionAttributeValues: { ':e': s('enabled') },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return reply(200, requestId, { endpoint_id: Attributes?.endpoint_id?.S, state: Attributes?.endpoint_state?.S });
  } catch {
    return reply(404, requestId, null);
  }
}
