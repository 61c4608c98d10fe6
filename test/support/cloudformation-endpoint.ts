/**
 * A minimal CloudFormation endpoint on loopback for the client CLI's
 * `--stack` path: DescribeStacks over the AWS query protocol (form body,
 * XML answer), for the stacks it is given; any other stack is the
 * ValidationError CloudFormation answers. The SDK finds it through
 * AWS_ENDPOINT_URL_CLOUDFORMATION, as a real one.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CloudFormationEndpoint {
  readonly url: string;
  /** StackName of every DescribeStacks received. */
  readonly described: string[];
  stop(): Promise<void>;
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startCloudFormationEndpoint(stacks: Readonly<Record<string, Readonly<Record<string, string>>>>): Promise<CloudFormationEndpoint> {
  const described: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const name = form.get('StackName') ?? '';
      described.push(name);
      const outputs = form.get('Action') === 'DescribeStacks' ? stacks[name] : undefined;
      res.setHeader('Content-Type', 'text/xml');
      if (outputs === undefined) {
        res.statusCode = 400;
        res.end(`<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${escape(name)} does not exist</Message></Error><RequestId>test</RequestId></ErrorResponse>`);
        return;
      }
      const members = Object.entries(outputs)
        .map(([key, value]) => `<member><OutputKey>${escape(key)}</OutputKey><OutputValue>${escape(value)}</OutputValue></member>`)
        .join('');
      res.end(
        `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member><StackName>${escape(name)}</StackName>` +
          `<StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-12-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>test</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    described,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
