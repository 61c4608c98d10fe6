/** The metric contract (lib/gateway-metrics.ts) and what docs/operations.md says of it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { functionNames } from '../../functions/background';
import { dimensionSetsOf, GATEWAY_METRICS, type GatewayMetricName } from '../../lib/gateway-metrics';

const operations = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
const section = operations.slice(operations.indexOf('## Metrics the functions emit'), operations.indexOf('## Tracing'));
const rows = new Map([...section.matchAll(/^\| `(\w+)`[^|]* \| (\w+) \| ([^|]+) \| .+ \|$/gm)].map((m) => [m[1], { unit: m[2], emittedBy: m[3].trim() }]));
const names = Object.keys(GATEWAY_METRICS) as GatewayMetricName[];

it('docs/operations.md lists every metric of the contract, with its unit and emitters, and no other', () => {
  expect([...rows.keys()].sort()).toEqual([...names].sort());
  for (const name of names) expect(rows.get(name)).toEqual({ unit: GATEWAY_METRICS[name].unit, emittedBy: GATEWAY_METRICS[name].emittedBy.join(', ') });
});

it('names only functions that exist, and breakdowns beside [service, stage], never instead', () => {
  for (const name of names) {
    for (const fn of GATEWAY_METRICS[name].emittedBy) expect(functionNames).toContain(fn);
    const [base, ...breakdowns] = dimensionSetsOf(name);
    expect(base).toEqual(['service', 'stage']);
    for (const set of breakdowns) expect(set.slice(0, 2)).toEqual(['service', 'stage']);
  }
});
