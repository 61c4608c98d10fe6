/** The retry schedule: planned from the origin, jittered later never earlier, Retry-After honoured within bounds. */
import { JITTER_SHARE, nextAttemptAt, parseRetryAfter, plannedAttempts, scheduleSpanSeconds } from '#domain/retry-schedule';
import { SETTINGS } from '../../functions/settings';

const DEFAULT = SETTINGS.webhookRetrySchedule.default;
const ORIGIN = 1_000_000_000;
const noJitter = () => 0;

it('the default schedule makes 8 attempts over more than 24 hours (Svix: about 27 h)', () => {
  expect(DEFAULT).toHaveLength(8);
  expect(scheduleSpanSeconds(DEFAULT)).toBeGreaterThan(24 * 3600);
  expect(plannedAttempts(DEFAULT, ORIGIN).map((at) => (at - ORIGIN) / 1000)).toEqual([0, 60, 360, 2160, 9360, 27_360, 63_360, 99_360]);
});

it('after each failed attempt, the next planned one; none after the last', () => {
  const planned = plannedAttempts(DEFAULT, ORIGIN);
  for (let k = 0; k < planned.length - 1; k += 1) {
    expect(nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: planned[k], random: noJitter })).toBe(planned[k + 1]);
  }
  expect(nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: planned[planned.length - 1], random: noJitter })).toBeUndefined();
});

it('work held up for a while is tried at the planned times still ahead, and ends within the span', () => {
  // Failed 3 hours after its origin: the 2 h point is past, the next one is origin + 27360 s.
  expect(nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: ORIGIN + 3 * 3600_000, random: noJitter })).toBe(ORIGIN + 27_360_000);
  expect(nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: ORIGIN + 30 * 3600_000, random: noJitter })).toBeUndefined();
});

it('jitter delays an attempt by up to 10% of its delay, never advances it', () => {
  const planned = plannedAttempts(DEFAULT, ORIGIN);
  const latest = nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: planned[1], random: () => 0.999_999 })!;
  expect(latest).toBeGreaterThan(planned[2]);
  expect(latest - planned[2]).toBeLessThanOrEqual(300 * 1000 * JITTER_SHARE);
  for (const random of [0, 0.25, 0.5, 0.75]) {
    expect(nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: planned[1], random: () => random })!).toBeGreaterThanOrEqual(planned[2]);
  }
});

it('Retry-After is honoured: never earlier than asked, capped at the longest delay', () => {
  const planned = plannedAttempts(DEFAULT, ORIGIN);
  expect(nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: planned[0], retryAfterMs: 600_000, random: noJitter })).toBe(planned[0] + 600_000);
  // Shorter than the plan: the plan wins.
  expect(nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: planned[0], retryAfterMs: 5_000, random: noJitter })).toBe(planned[1]);
  expect(nextAttemptAt({ schedule: DEFAULT, originMs: ORIGIN, nowMs: planned[0], retryAfterMs: 10 * 86_400_000, random: noJitter })).toBe(planned[0] + 36_000_000);
});

it('reads Retry-After as seconds or an HTTP date', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  expect(parseRetryAfter('120', now)).toBe(120_000);
  expect(parseRetryAfter('Tue, 01 Dec 2026 10:05:00 GMT', now)).toBe(300_000);
  expect(parseRetryAfter('Tue, 01 Dec 2026 09:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('soon', now)).toBeUndefined();
  expect(parseRetryAfter(undefined, now)).toBeUndefined();
});
