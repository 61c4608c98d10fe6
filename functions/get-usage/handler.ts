/** GET /luma/usage: the caller's usage per UTC day (only completed tasks are billable) and its limits. */
import { limitsView, BILLING_RULE, usageRange, usageReport } from '#domain/usage-report';
import { usageQuerySchema } from '#domain/tenant-requests';
import { nowSeconds, usageStore } from '#functions/wiring';
import { apiHandler, callerId } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { parseOrThrow } from '#http/validation';

export async function getCallersUsage(event: JsonEvent) {
  const query = parseOrThrow(usageQuerySchema, event.queryStringParameters ?? {}, 'query');
  const now = nowSeconds();
  const range = usageRange(query.from, query.to, now);
  const clientId = callerId(event);
  const [report, limits] = await Promise.all([usageReport(usageStore(), clientId, range), usageStore().limits(clientId)]);
  return { from: report.from, to: report.to, billing: BILLING_RULE, days: report.days, totals: report.totals, limits: limitsView(limits, now) };
}

export const handler = apiHandler(getCallersUsage, { jsonBody: false });
