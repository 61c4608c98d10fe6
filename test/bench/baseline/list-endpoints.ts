/** Baseline for list-endpoints: Query the caller's endpoints; nothing else. */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { db, reply, s } from './bare';

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: process.env.ENDPOINTS_TABLE!,
      KeyConditionExpression: 'client_id = :c',
      ExpressionAttributeValues: { ':c': s(String(event.requestContext.authorizer?.clientId)) },
    }),
  );
  const endpoints = Items.map((item) => ({ endpoint_id: item.endpoint_id?.S, url: item.url?.S, state: item.endpoint_state?.S }));
  return reply(200, event.requestContext.requestId, { endpoints });
}
