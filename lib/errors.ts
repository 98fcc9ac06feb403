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

/**
 * A short, printable rendering of any value a message carried, for error texts: never throws (BigInt,
 * symbols, cycles) and never copies a 10 MB string into a log line.
 */
export function describeValue(value: unknown, max = 60): string {
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}n` : typeof value === 'symbol' || typeof value === 'function' ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value;
  }
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
