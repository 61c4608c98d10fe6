/** Reads a table's DynamoDB Local stream from the start: what downstream consumers would see. */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { localDynamoClient } from '../../lib/local/dynamodb-local';

export async function readWholeStream(endpoint: string, tableName: string): Promise<_Record[]> {
  const dynamo = localDynamoClient(endpoint);
  const streams = new DynamoDBStreamsClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    const streamArn = Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`${tableName} has no stream`);
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const records: _Record[] = [];
    for (const shard of StreamDescription?.Shards ?? []) {
      let { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      // An open shard always returns an iterator; stop at the first empty page.
      for (let page = 0; ShardIterator && page < 1000; page += 1) {
        const result = await streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
        records.push(...(result.Records ?? []));
        if ((result.Records ?? []).length === 0) break;
        ShardIterator = result.NextShardIterator;
      }
    }
    return records;
  } finally {
    dynamo.destroy();
    streams.destroy();
  }
}
