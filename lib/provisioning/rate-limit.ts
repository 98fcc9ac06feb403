/**
 * A token bucket per provisioning key: `burst` requests at once, refilled at `perSecond`. Unknown keys get a
 * bucket too, so being limited says nothing about whether a key exists. At most `maxKeys` buckets are kept (a
 * flood of made-up keys evicts the oldest, which loses nothing: an evicted bucket starts full, as it would).
 */
export interface RateLimitOptions {
  perSecond: number;
  burst: number;
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class KeyRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;

  constructor(private readonly options: RateLimitOptions) {
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Takes one request from the key's bucket: 0 when allowed, else the ms until the next one would be. */
  take(key: string, now = Date.now()): number {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { tokens: this.options.burst, at: now };
    } else {
      this.buckets.delete(key); // re-inserted below: the map's order is least recently used first
      bucket.tokens = Math.min(this.options.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.options.perSecond);
      bucket.at = now;
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.options.perSecond) * 1000);
  }

  get size(): number {
    return this.buckets.size;
  }
}
