// The error codes a flow can switch on (`msg.error.code` at a Catch node): one table, the contract. A code is
// never renamed without a CHANGELOG entry; the README lists this table, and a test checks that every code the
// pack raises is here and that every node's help names only codes of this table.
export const ERROR_CODES = {
  // Input of any node
  INVALID_DEVICE_ID: 'msg.deviceId (or the id a payload or topic gives) is missing or not 1 to 128 characters of A-Z a-z 0-9 . _ : -',
  INVALID_FIELD: 'a msg property has the wrong type or is out of range; msg.m2mError.field names it',
  INVALID_PAYLOAD: 'the payload cannot be decoded or is not what the operation needs',
  PAYLOAD_TOO_LARGE: 'the payload is over the size cap, or a msg property holds more than 100,000 objects counting shared references',
  PAYLOAD_TOO_DEEP: 'a msg property nests deeper than 64 levels or contains itself; it is left off the msg the Catch node gets',
  HOSTILE_KEY: 'a key __proto__, constructor or prototype, which could reach an object prototype',
  INTERNAL_ERROR: 'an error without a code of its own (a defect: please report it)',
  // Configuration
  INVALID_CONFIG: "a node's saved configuration cannot be used; every message is rejected until it is fixed",
  INVALID_SCHEMA: 'a JSON Schema does not compile, or has more than 2,000 keywords',
  UNSAFE_PATTERN: 'a schema pattern cannot be matched in linear time (backreference, lookaround, too many states)',
  // Registry and devices
  NO_REGISTRY: 'the node needs an m2m-registry and none is configured or deployed',
  REGISTRY_UNAVAILABLE: 'the m2m-registry exists but could not be created or opened',
  DEVICE_EXISTS: 'register: the device is already registered (use upsert)',
  DEVICE_NOT_FOUND: 'the device is not registered',
  UNKNOWN_TYPE: 'the device type is not one of the registry',
  UNKNOWN_OPERATION: 'msg.operation is not an operation of the node',
  SCHEMA_VALIDATION: "a value fails its device type's schema",
  VERSION_CONFLICT: 'the record changed since the version given (ifVersion, or another instance wrote first); read and retry',
  // Stores
  STORE_UNAVAILABLE: "the registry's store cannot be reached (Redis away); nothing was stored",
  STORE_WRITE_FAILED: 'a write could not be stored whole (disk full, I/O error); nothing of it was acknowledged',
  STORE_CORRUPT: 'stored data cannot be read and could not be kept aside',
  STORE_TOO_NEW: 'stored data was written by a newer release of the pack; it is left untouched',
  STORE_CLOSED: 'the store was closed (the registry was redeployed or stopped)',
  // Telemetry
  FRAME_TOO_SHORT: 'a binary frame ends before a field it must hold',
  TOO_MANY_RECORDS: 'a payload has more records, or a record more metrics, than the cap',
  TOO_MANY_DEVICES: 'a Sparkplug edge node announces more devices than the cap',
  UNKNOWN_ALIAS: 'Sparkplug data names a metric alias (or no name) its birth did not declare; a rebirth is requested',
  BROKER_UNAVAILABLE: "the node's own MQTT connection (m2m-sparkplug-host) is not connected, so nothing was published",
  // Rules
  INVALID_RULE: 'a rule of the node cannot be compiled',
  INVALID_CONTROL: 'a control message (ack, shelve, unshelve, reset, list) is malformed',
  NOT_A_NUMBER: "a rule's metric is present but not a number",
  NO_THRESHOLD: "a rule's threshold from an attribute or msg property is missing or not a number",
  STATE_FULL: 'the rule state holds the most devices it may, all with alarms, delays or shelving',
  // Commands
  INVALID_COMMAND: 'msg.command is missing or not a usable command name',
  UNKNOWN_COMMAND: 'the device type has no such command',
  DUPLICATE_COMMAND: 'a command with this id is already in progress',
  QUEUE_FULL: "the offline device's command queue is full",
  BAD_REPLY: 'a reply into m2m-command is not JSON or names no command',
  BAD_COMMAND: 'a command into m2m-simulator is not JSON { id, command, params }',
  CLOSED: 'the node was closed while the message waited',
  // Twin
  TWIN_TOO_LARGE: 'a twin document would be over the size cap',
  // Jobs
  INVALID_JOB: 'a job document is malformed, or a rate, percentage, retry count or duration is out of range; msg.m2mError.field names it',
  EMPTY_TARGET: "a job's target names no device, or no device matches it; nothing was started",
  JOB_NOT_FOUND: 'a job control names a job the node does not have',
  JOB_EXISTS: 'a job with this jobId exists already',
  JOB_ENDED: 'pause, resume or cancel of a job that has already ended',
  // Provisioning answers (m2m-provision's status to the device, not Catch nodes)
  NOT_AUTHORIZED:
    'provisioning: a wrong secret, an unknown key, or a device that may not enrol (exists, has a credential, is not pre-provisioned); one answer for all',
  BAD_REQUEST: 'provisioning: the request is not JSON or lacks a field; nothing changed',
  RATE_LIMITED: 'provisioning: the key made more requests than its rate; retry after retryAfterMs',
  // Admin API (HTTP answers, not Catch nodes)
  NODE_NOT_FOUND: 'no deployed node has that id',
  RULE_NOT_FOUND: 'the rule node has no rule of that name',
  COMMAND_NOT_FOUND: 'the command is not pending or queued',
  NO_TRANSITION: 'the request changed nothing (no such alarm, or already in that state)',
  NOT_READY: "the node's state is not loaded yet",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

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
    text =
      typeof value === 'bigint'
        ? `${value}n`
        : typeof value === 'symbol' || typeof value === 'function'
          ? String(value)
          : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value;
  }
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
