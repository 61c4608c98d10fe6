/**
 * Figure 7: the extend path at its worst, against its timeout. Over HTTP
 * through the local stack, with the upstream at its slowest that still
 * leaves the gateway work to do: every answer 9.5 s late, the gateway's key
 * rotated (so the first answer is a 401, the key is read again and the call
 * made again), and the second call accepted but never answered. Also the
 * bound with every dependency at its limit (functions/time-budget.ts), which
 * the submit pipeline's deadline holds by construction.
 */
import { randomBytes } from 'node:crypto';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import { SEED_GENERATION_ID } from '../../lib/local/upstream-simulator';
import { SETTINGS } from '../../functions/settings';
import { AWS_CALL_WORST_MS, INVOCATION_MARGIN_MS, MIN_UPSTREAM_ATTEMPT_MS, SUBMIT_RESERVE_AFTER_UPSTREAM_MS } from '../../functions/time-budget';
import type { BenchContext } from './context';
import { round } from './stats';

export interface WorstCaseResult {
  readonly timeoutMs: number;
  /** The slowest path measured over HTTP: status, time, and the upstream attempts it made. */
  readonly measured: { readonly status: number; readonly ms: number; readonly upstreamAttempts: number };
  /** Every SDK call at its bound, the 401 arriving just before the first attempt's deadline: the time the pipeline takes at most. */
  readonly boundMs: number;
}

/**
 * The longest path by the budget's own arithmetic: three SDK calls at their
 * bound (parent, task, key), the first attempt given what remains less the
 * reserve, a 401 at its very end (no time left for a refresh), and the
 * refusal's write at its bound.
 */
export function submitBoundMs(timeoutMs: number, upstreamTimeoutMs: number): number {
  const available = timeoutMs - INVOCATION_MARGIN_MS;
  const beforeUpstream = 3 * AWS_CALL_WORST_MS;
  const firstAttempt = Math.min(upstreamTimeoutMs, available - beforeUpstream - SUBMIT_RESERVE_AFTER_UPSTREAM_MS);
  const refreshFits = available - beforeUpstream - firstAttempt >= AWS_CALL_WORST_MS + MIN_UPSTREAM_ATTEMPT_MS + SUBMIT_RESERVE_AFTER_UPSTREAM_MS;
  const secondAttempt = refreshFits ? Math.min(upstreamTimeoutMs, available - beforeUpstream - firstAttempt - AWS_CALL_WORST_MS - SUBMIT_RESERVE_AFTER_UPSTREAM_MS) : 0;
  return beforeUpstream + firstAttempt + (refreshFits ? AWS_CALL_WORST_MS + secondAttempt : 0) + AWS_CALL_WORST_MS;
}

export async function worstCasePhase(ctx: BenchContext): Promise<WorstCaseResult> {
  const { stack, sim } = ctx;
  const timeoutMs = FUNCTION_NEEDS.extend.timeout.toMilliseconds();
  const call = (prompt: string) =>
    fetch(`${stack.url}/luma/generations/${SEED_GENERATION_ID}/extend`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.clientKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_prompt: prompt }),
    });
  // The gateway holds the current key in its cache; the rotation below makes it stale.
  await (await call('worst case warm-up')).arrayBuffer();
  const rotated = `sk-rotated-${randomBytes(12).toString('hex')}`;
  const previousKey = sim.apiKey;
  sim.setApiKey(rotated);
  stack.secrets.putSecretValue(stack.upstreamSecretId, rotated);
  sim.setFaults({ latencyMs: 9500, afterAccept: 'hang' });
  const prompt = `worst case ${randomBytes(3).toString('hex')}`;
  const before = sim.submissions().length;
  const started = Date.now();
  try {
    const response = await call(prompt);
    await response.arrayBuffer();
    return {
      timeoutMs,
      measured: { status: response.status, ms: round(Date.now() - started, 0), upstreamAttempts: sim.submissions().length - before },
      boundMs: submitBoundMs(timeoutMs, SETTINGS.upstreamTimeoutMs.default),
    };
  } finally {
    sim.setFaults({ latencyMs: 0, afterAccept: 'none' });
    sim.setApiKey(previousKey);
    stack.secrets.putSecretValue(stack.upstreamSecretId, previousKey);
  }
}
