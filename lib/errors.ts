// One error type for the whole pack: a stable `code` for flows to switch on, and the offending `field`.
export class M2MError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly details?: unknown;

  constructor(code: string, message: string, options: { field?: string; details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'M2MError';
    this.code = code;
    this.field = options.field;
    this.details = options.details;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
