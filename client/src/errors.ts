import type { ErrorBody, ErrorCode } from '../../shared/protocol/errors.js';
import { CloseCode } from '../../shared/protocol/wire-constants.js';

/**
 * A typed error from the fabric, or from the client when the connection ends for good.
 * Switch on `code`; `retryable` says whether the same request may succeed later.
 * @example
 * try { await session.text(); } catch (e) {
 *   if (e instanceof StreamFabricError && e.code === 'expired') showMessage('This answer is no longer available');
 * }
 */
export class StreamFabricError extends Error {
  override readonly name = 'StreamFabricError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Milliseconds to wait before retrying, when the server said so. */
  readonly retryAfterMs: number | undefined;
  constructor(body: ErrorBody, options?: { cause?: unknown }) {
    super(body.message, options);
    this.code = body.code;
    this.retryable = body.retryable;
    this.retryAfterMs = body.retryAfterMs;
  }

  /** The wire form of this error. */
  toJSON(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
    };
  }
}

const CLOSE_TO_CODE: Record<number, ErrorCode> = {
  [CloseCode.unauthenticated]: 'unauthenticated',
  [CloseCode.forbidden]: 'forbidden',
  [CloseCode.rateLimited]: 'rate_limited',
  [CloseCode.badProtocol]: 'bad_frame',
  [CloseCode.policyViolation]: 'forbidden',
  [CloseCode.messageTooBig]: 'frame_too_large',
};

/** @internal The error a terminal WebSocket close code stands for. */
export function errorFromClose(code: number, reason: string): StreamFabricError {
  return new StreamFabricError({
    code: CLOSE_TO_CODE[code] ?? 'unavailable',
    message: `connection closed by the server (${code}${reason ? ` ${reason}` : ''})`,
    retryable: false,
  });
}
