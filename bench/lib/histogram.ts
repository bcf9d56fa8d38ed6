/**
 * Latency histogram in µs with log buckets (each 2% wider than the last), so quantiles are exact to
 * within 2% whatever the sample count, and workers send a fixed-size array to the orchestrator.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Covers 1 µs .. ~10 minutes. */
const BUCKETS = Math.ceil(Math.log(600e6) / LOG_GROWTH) + 1;

export interface HistogramData {
  counts: number[];
  count: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private count = 0;
  private sumUs = 0;
  private minUs = Infinity;
  private maxUs = 0;

  record(us: number): void {
    const v = Math.max(1, us);
    const i = Math.min(BUCKETS - 1, Math.ceil(Math.log(v) / LOG_GROWTH));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    this.sumUs += v;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  toJSON(): HistogramData {
    return {
      counts: Array.from(this.counts),
      count: this.count,
      sumUs: this.sumUs,
      minUs: this.count > 0 ? this.minUs : 0,
      maxUs: this.maxUs,
    };
  }
}

export function mergeHistograms(parts: HistogramData[]): HistogramData {
  const counts = new Array<number>(BUCKETS).fill(0);
  let count = 0;
  let sumUs = 0;
  let minUs = Infinity;
  let maxUs = 0;
  for (const part of parts) {
    part.counts.forEach((c, i) => (counts[i] = (counts[i] ?? 0) + c));
    count += part.count;
    sumUs += part.sumUs;
    if (part.count > 0) minUs = Math.min(minUs, part.minUs);
    maxUs = Math.max(maxUs, part.maxUs);
  }
  return { counts, count, sumUs, minUs: count > 0 ? minUs : 0, maxUs };
}

/** The q-quantile (0..1) in ms: the upper bound of the bucket holding it, capped at the max. */
export function quantileMs(h: HistogramData, q: number): number {
  if (h.count === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i] ?? 0;
    if (seen >= rank) return Math.min(GROWTH ** i, h.maxUs) / 1000;
  }
  return h.maxUs / 1000;
}
