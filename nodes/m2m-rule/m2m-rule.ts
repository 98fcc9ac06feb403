import { errorMessage, M2MError } from '../../lib/errors';
import type { DeviceEvent, DeviceRegistryApi } from '../../lib/registry/types';
import {
  type AlarmEvent,
  compileRules,
  type ControlOp,
  JSONATA_VALUES,
  jsonataThresholds,
  KeptStates,
  needsRegistry,
  type NodeContextStore,
  RuleEngine,
  RulePersistence,
  type StateBackend,
} from '../../lib/rules';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage, SendFunction } from '../shared/node-red';
import { optionalRegistry, startedFor } from '../shared/registry-lookup';
import { JsonataFields } from '../shared/jsonata';
import { ThrottledStatus } from '../shared/throttled-status';
import { RULE_CONFIG, type RuleConfig } from './config';
import { installAdminApi, listAlarms } from '../shared/admin-sources';

const CONTROL_TOPICS = new Set(['ack', 'shelve', 'unshelve', 'reset']);

/** Node-RED's context API with callbacks, which every context store supports (a file store without cache only so). */
interface CallbackContext {
  get(key: string, store: string | undefined, cb: (err: Error | null | undefined, value: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, cb: (err?: Error | null) => void): void;
  keys(store: string | undefined, cb: (err: Error | null | undefined, keys: string[]) => void): void;
}

function contextStore(node: Node, store: string | undefined): NodeContextStore {
  const context = node.context() as unknown as CallbackContext;
  return {
    get: (key, cb) => context.get(key, store, cb),
    set: (key, value, cb) => context.set(key, value, store, cb),
    keys: (cb) => context.keys(store, cb),
  };
}

// Output 1 always gets an array of messages in the first slot: a bare array would spread them over the outputs.
export = function (RED: NodeAPI): void {
  // The alarm state of nodes without a registry, by node id: it outlives a node instance (a redeploy), not the runtime.
  const kept = new KeptStates();
  installAdminApi(RED);
  RED.nodes.registerType('m2m-rule', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let def: RuleConfig;
    try {
      def = RULE_CONFIG.read(config);
    } catch (err) {
      rejectAllInput(node, err);
      return;
    }
    const passthrough = def.outputs === 2;

    let engine: RuleEngine;
    let persistence: RulePersistence | undefined;
    let registry: DeviceRegistryApi | undefined;
    let shelveMs: number;
    let jsonata: { fields: JsonataFields; thresholds: ReturnType<typeof jsonataThresholds> } | undefined;
    try {
      const rules = compileRules(def.rules);
      const thresholds = jsonataThresholds(rules);
      // prepared once here: a syntax error refuses the deploy with INVALID_CONFIG naming the rule and property
      if (thresholds.length > 0) jsonata = { fields: new JsonataFields(RED, node, thresholds), thresholds };
      registry = optionalRegistry(RED, def.registry);
      if (!registry && needsRegistry(rules)) {
        throw new M2MError('NO_REGISTRY', 'a rule uses a device attribute threshold or a type/tag scope, which needs an m2m-registry', { field: 'registry' });
      }
      shelveMs = def.shelveFor * 1000;
      const reg = registry;
      engine = new RuleEngine({
        rules,
        lookup: reg && ((id) => reg.get(id)),
        onTimerEvents: (events) => {
          node.send([eventMessages(events, undefined), null]);
          status.schedule();
        },
        onChange: (id) => persistence?.changed(id),
        onHint: (message) => node.warn(message),
        idleMs: def.idleHours * 3600_000,
        maxDevices: def.maxDevices,
      });
    } catch (err) {
      rejectAllInput(node, err);
      return;
    }

    const status = new ThrottledStatus(node, () => {
      const active = engine.list();
      const unacked = active.filter((a) => !a.acknowledged).length;
      if (active.length === 0) return { fill: 'green', shape: 'dot', text: 'no alarms' };
      return { fill: unacked ? 'red' : 'yellow', shape: 'dot', text: `${active.length} active, ${unacked} unacknowledged` };
    });

    /**
     * Each event gets its own copy of the message that caused it, so nothing is shared. `sourceLeaves`: the
     * source goes on too (output 2), so it shares nothing with the events. Otherwise one event takes a shallow
     * copy: the source goes nowhere else, so the objects they share are held by the event alone.
     */
    function eventMessages(events: AlarmEvent[], source: NodeMessage | undefined, sourceLeaves = true): NodeMessage[] {
      admin.changed(); // the editor's M2M sidebar shows the change
      const shallow = !sourceLeaves && events.length === 1;
      return events.map((payload) => {
        let msg: NodeMessage = {};
        if (source) {
          const { payload: _payload, alarms: _alarms, ...rest } = source;
          msg = shallow ? rest : RED.util.cloneMessage(rest);
        }
        msg.topic = `alarm/${payload.deviceId}/${payload.rule}`;
        msg.deviceId = payload.deviceId;
        msg.payload = payload;
        return msg;
      });
    }

    const onDevice = (e: DeviceEvent): void => {
      if (e.event === 'removed') engine.removeDevice(e.deviceId);
      else if (e.event === 'updated' || e.event === 'registered') engine.invalidateScope(e.deviceId);
    };

    // Alarm state comes back before the first message is evaluated, so a restart neither re-raises nor forgets.
    let ready = false;
    const loading = (async () => {
      let backend: StateBackend;
      if (registry) {
        // waits for a store that is still unreachable (Redis starting after Node-RED) instead of failing for good
        await registry.whenLoaded();
        backend = await registry.state(`rule:${node.id}`);
        registry.on('device', onDevice);
      } else {
        backend = await kept.open(node.id, contextStore(node, def.contextStore || undefined));
      }
      const loaded = new RulePersistence(backend, (m) => node.warn(m));
      const restored = loaded.load(engine);
      persistence = loaded;
      ready = true;
      node.status({ fill: 'grey', shape: 'ring', text: `${engine.rules.length} rules${restored ? `, ${restored} devices restored` : ''}` });
      status.schedule();
    })();
    loading.catch((err: unknown) => {
      node.error(`m2m-rule could not load its alarm state: ${errorMessage(err)}`);
      node.status({ fill: 'red', shape: 'ring', text: 'state not loaded' });
    });

    // after a bad message's red badge, the next good one brings the normal badge back
    let errorShown = false;
    function handle(msg: NodeMessage, send: SendFunction): void {
      try {
        evaluate(msg, send);
      } catch (err) {
        errorShown = true;
        throw err;
      }
      if (errorShown) {
        errorShown = false;
        status.show();
      }
    }

    function evaluate(msg: NodeMessage, send: SendFunction): void {
      const topic = msg.topic;
      if (typeof topic === 'string' && CONTROL_TOPICS.has(topic)) {
        const duration = msg.duration === undefined ? shelveMs : typeof msg.duration === 'number' ? msg.duration * 1000 : msg.duration;
        const events = engine.control(topic as ControlOp, msg.deviceId, msg.rule, duration);
        // who did it (the admin API sets the editor user), in each event
        if (typeof msg.by === 'string') for (const event of events) (event as AlarmEvent & { by?: string }).by = msg.by;
        if (events.length) send([eventMessages(events, msg), null]);
        status.schedule();
        return;
      }
      if (topic === 'list') {
        if (msg.deviceId !== undefined && typeof msg.deviceId !== 'string')
          throw new M2MError('INVALID_CONTROL', 'list: msg.deviceId must be a string when given', { field: 'deviceId' });
        msg.payload = engine.list(msg.deviceId);
        send([msg, null]);
        return;
      }
      const events = engine.process(msg.deviceId, msg.payload, msg, msg.timestamp);
      if (passthrough) {
        const out = events && eventMessages(events, msg);
        msg.alarms = typeof msg.deviceId === 'string' && engine.hasActive(msg.deviceId) ? engine.list(msg.deviceId) : [];
        send([out, msg]);
      } else if (events) {
        send([eventMessages(events, msg, false)]);
      }
      if (events) status.schedule();
    }

    onInput(node, (msg, send) => {
      // until the state is loaded, a message fails at once with STORE_UNAVAILABLE while the store is unreachable
      if (!ready) return startedFor(registry, loading).then(() => withThresholds(msg, send));
      return withThresholds(msg, send);
    });

    /** With JSONata thresholds: evaluated once for this message (asynchronous, in Node-RED), then the engine reads them. */
    function withThresholds(msg: NodeMessage, send: SendFunction): void | Promise<void> {
      if (!jsonata || (typeof msg.topic === 'string' && (CONTROL_TOPICS.has(msg.topic) || msg.topic === 'list'))) return handle(msg, send);
      const { fields, thresholds } = jsonata;
      return fields.evaluate(msg).then((results) => {
        const values = new Map<string, unknown>();
        for (const t of thresholds) values.set(t.expression, results.get(t.field));
        // not enumerable: the copies of msg that events get do not carry it
        Object.defineProperty(msg, JSONATA_VALUES, { value: values, configurable: true, enumerable: false });
        try {
          handle(msg, send);
        } finally {
          delete (msg as Record<symbol, unknown>)[JSONATA_VALUES];
        }
      });
    }

    // the admin API and the editor's M2M sidebar: active alarms, and transitions taking the control message's path
    const admin = listAlarms(node, { registryId: registry ? (def.registry as string) : undefined, registry, engine, loading, handle });

    node.on('close', (removed, done) => {
      admin.remove();
      status.stop();
      engine.close();
      registry?.off('device', onDevice);
      // a deleted node takes its alarm state with it; a redeployed or stopped one saves it. The writes start now,
      // synchronously, because Node-RED closes the registry config node right after the nodes that use it.
      // State that did not load (e.g. written by a newer version) is left alone.
      if (removed && !registry) kept.forget(node.id);
      const save = async (): Promise<void> => {
        if (persistence) await (removed ? persistence.clear() : persistence.close());
      };
      (ready ? save() : loading.catch(() => undefined).then(save))
        .catch((err: unknown) => node.error(`m2m-rule could not save its alarm state: ${errorMessage(err)}`))
        .finally(() => done());
    });
  });
};
