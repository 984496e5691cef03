import type { ErrorBody, ErrorCode } from '../../shared/protocol/index.js';

/** A typed error from the fabric: switch on `code`; `retryable` says whether to try again. */
export class StreamFabricError extends Error {
  override readonly name = 'StreamFabricError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(body: ErrorBody) {
    super(body.message);
    this.code = body.code;
    this.retryable = body.retryable;
  }
}
