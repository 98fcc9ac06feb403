// A rule engine with its state in a map (as the registry's store keeps it), fed samples by hand, that can be
// stopped and started again over the same state: the restart every lifecycle test makes in the middle.
import {
  compileRules,
  type ControlOp,
  RuleEngine,
  RulePersistence,
  type AlarmEvent,
  type DeviceFacts,
  type RuleDefinition,
  type StateBackend,
} from '../../lib/rules';

export function mapBackend(): StateBackend & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    get: (k) => data.get(k),
    set: (k, v) => void data.set(k, JSON.parse(JSON.stringify(v))),
    delete: (k) => void data.delete(k),
    keys: () => [...data.keys()],
  };
}

export interface Rig {
  engine: RuleEngine;
  events: AlarmEvent[];
  /** one sample of `device` (d1 by default); returns its events */
  send(payload: Record<string, unknown>, device?: string, timestamp?: number): AlarmEvent[];
  /** ack, shelve, unshelve or reset, its events kept with the others */
  control(op: ControlOp, device?: string, rule?: string, durationMs?: number): void;
  /** the events so far as `event:rule:severity`, then forgets them */
  take(): string[];
  /** a clean stop and a start over the same state (a redeploy or a restart) */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function rig(defs: RuleDefinition[], devices: Record<string, DeviceFacts> = {}): Promise<Rig> {
  const backend = mapBackend();
  const events: AlarmEvent[] = [];
  let engine!: RuleEngine;
  let persistence!: RulePersistence;
  const start = (): void => {
    persistence = new RulePersistence(backend);
    engine = new RuleEngine({ rules: compileRules(defs), lookup: (id) => devices[id], onChange: persistence.changed, onTimerEvents: (e) => events.push(...e) });
    persistence.load(engine);
  };
  start();
  const self: Rig = {
    get engine() {
      return engine;
    },
    events,
    send(payload, device = 'd1', timestamp) {
      const out = engine.process(device, payload, {}, timestamp) ?? [];
      events.push(...out);
      return out;
    },
    control(op, device = 'd1', rule, durationMs) {
      events.push(...engine.control(op, device, rule, durationMs));
    },
    take() {
      const out = events.map((e) => `${e.event}:${e.rule}:${e.severity}`);
      events.length = 0;
      return out;
    },
    async restart() {
      engine.close();
      await persistence.close();
      start();
    },
    async close() {
      engine.close();
      await persistence.close();
    },
  };
  return self;
}
