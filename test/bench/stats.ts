/** Percentiles and small number helpers for the benchmark figures. */
import { seededRandom } from '../../lib/local/upstream-simulator';

export interface Distribution {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

export const round = (value: number, digits = 2): number => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

export const ratio = (value: number, baseline: number): number => round(value / baseline, 2);

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export const nowMs = (): number => performance.now();

/** Epoch milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** A seeded shuffle (mulberry32), so runs repeat. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** A 95% interval. */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

const median = (values: readonly number[]) => percentile([...values].sort((a, b) => a - b), 50);

function resampledMedians(values: readonly number[], resamples: number, random: () => number): number[] {
  const out: number[] = [];
  const sample = new Array<number>(values.length);
  for (let r = 0; r < resamples; r += 1) {
    for (let i = 0; i < values.length; i += 1) sample[i] = values[Math.floor(random() * values.length)];
    out.push(median(sample));
  }
  return out;
}

function interval(estimates: number[]): Interval {
  const sorted = estimates.filter(Number.isFinite).sort((a, b) => a - b);
  return { lo: percentile(sorted, 2.5), hi: percentile(sorted, 97.5) };
}

/** 95% percentile-bootstrap interval of the median (seeded: a run repeats). */
export function medianInterval(values: readonly number[], resamples = 2000, seed = 1): Interval {
  if (values.length < 2) return { lo: NaN, hi: NaN };
  return interval(resampledMedians(values, resamples, seededRandom(seed)));
}

/** 95% bootstrap interval of median(a) / median(b), the two samples resampled independently. */
export function medianRatioInterval(a: readonly number[], b: readonly number[], resamples = 2000, seed = 1): Interval {
  if (a.length < 2 || b.length < 2) return { lo: NaN, hi: NaN };
  const random = seededRandom(seed);
  const top = resampledMedians(a, resamples, random);
  const bottom = resampledMedians(b, resamples, random);
  return interval(top.map((value, i) => value / bottom[i]));
}

export const roundInterval = (value: Interval, digits = 2): Interval => ({ lo: round(value.lo, digits), hi: round(value.hi, digits) });
