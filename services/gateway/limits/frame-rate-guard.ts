import { CloseCode, type ErrorBody, errorBody } from '../../../shared/protocol/index.js';
import { TokenBucket } from './token-bucket.js';

export interface FrameRateLimits {
  framesPerSecond: number;
  burst: number;
  /** Frames rejected in a row before the connection is closed with 4008. */
  closeAfter: number;
}

/** What to do with a frame: handle it, answer `rate_limited`, or close the abusive connection. */
export type FrameVerdict =
  | { action: 'accept' }
  | { action: 'reject'; error: ErrorBody }
  | { action: 'close'; code: number; reason: string };

/**
 * Per-connection frame rate limit. A client over its rate gets a typed, retryable `rate_limited`
 * answer with `retryAfterMs`; one that keeps sending while limited is closed with 4008, so a
 * flood costs the gateway a bounded amount of work per connection.
 */
export class FrameRateGuard {
  private readonly bucket: TokenBucket;
  private rejectedInARow = 0;

  constructor(private readonly limits: FrameRateLimits) {
    this.bucket = new TokenBucket(limits.framesPerSecond, limits.burst);
  }

  check(): FrameVerdict {
    if (this.bucket.take()) {
      this.rejectedInARow = 0;
      return { action: 'accept' };
    }
    this.rejectedInARow++;
    if (this.rejectedInARow >= this.limits.closeAfter)
      return { action: 'close', code: CloseCode.rateLimited, reason: 'rate limit exceeded repeatedly' };
    return {
      action: 'reject',
      error: errorBody('rate_limited', `at most ${this.limits.framesPerSecond} frames per second`, {
        retryAfterMs: this.bucket.msUntilNext(),
      }),
    };
  }
}
