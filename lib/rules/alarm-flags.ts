// The bits of an alarm's flags column (one Uint16 per device-rule). Only the PERSISTED bits are saved, and by name
// (FLAG_NAMES), so these positions may change without touching a stored state.
import type { AlarmFlag } from './state-format';

export const ACTIVE = 1;
export const ACKED = 2;
export const ESCALATED = 4;
export const PEND_RAISE = 8;
export const PEND_CLEAR = 16;
export const SHELVED = 32;
/** a rate rule holds the previous value and timestamp */
export const HAS_PREV = 64;
/** latched alarm whose condition is back to normal, waiting for acknowledgement */
export const COND_CLEARED = 128;
/** the device's type and tags were checked against the rule's scope (result in IN_SCOPE) */
export const SCOPE_KNOWN = 256;
export const IN_SCOPE = 512;
/** raised while shelved: announced on unshelve if still active */
export const SILENT = 1024;
/** a no-data rule has seen this device and watches it */
export const SEEN = 2048;

/** The flags worth keeping: a device-rule with none of them may be forgotten. */
export const PERSISTED = ACTIVE | ACKED | ESCALATED | PEND_RAISE | PEND_CLEAR | SHELVED | COND_CLEARED | SILENT | SEEN;

/** The persisted flags by name, so that a stored state does not depend on these bit positions. */
export const FLAG_NAMES: ReadonlyArray<[number, AlarmFlag]> = [
  [ACTIVE, 'active'],
  [ACKED, 'acknowledged'],
  [ESCALATED, 'escalated'],
  [PEND_RAISE, 'pendingRaise'],
  [PEND_CLEAR, 'pendingClear'],
  [SHELVED, 'shelved'],
  [COND_CLEARED, 'conditionCleared'],
  [SILENT, 'raisedWhileShelved'],
  [SEEN, 'watching'],
];
