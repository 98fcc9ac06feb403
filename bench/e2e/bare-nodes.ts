// The two custom nodes of bench:e2e. bench-floor: one bare node doing all the pack pipeline's work (parse, the
// registry's auto-register and last seen, the three plant rules) with plain closures, the least a Node-RED
// process can spend on it. bench-pass: a node that only forwards, for MQTT in → node → MQTT out, the ceiling.
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../../nodes/shared/node-red';

interface DeviceState {
  id: string;
  type: string;
  registeredAt: number;
  lastSeen: number;
  online: boolean;
  run: number;
  active: boolean;
  tempAt: number;
  staleActive: boolean;
  vib: number | undefined;
  vibAt: number;
  vibActive: boolean;
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('bench-floor', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this; // eslint-disable-line @typescript-eslint/no-this-alias
    const devices = new Map<string, DeviceState>();
    const sweep = setInterval(() => {
      const now = Date.now();
      for (const d of devices.values()) {
        if (!d.staleActive && now - d.tempAt > 10_000) {
          d.staleActive = true;
          node.send({
            topic: `alarm/${d.id}/sensor-stale`,
            deviceId: d.id,
            payload: {
              deviceId: d.id,
              rule: 'sensor-stale',
              event: 'raised',
              severity: 'warning',
              value: null,
              threshold: 10,
              ts: now,
              text: `${d.id} sensor stale raised (warning): no temperature for 10 s`,
            },
          });
        }
      }
    }, 1000);

    node.on('input', (msg, send, done) => {
      const id = String(msg.topic).split('/')[1];
      const now = Date.now();
      let d = devices.get(id);
      if (d === undefined) {
        d = {
          id,
          type: 'machine',
          registeredAt: now,
          lastSeen: now,
          online: true,
          run: 0,
          active: false,
          tempAt: now,
          staleActive: false,
          vib: undefined,
          vibAt: 0,
          vibActive: false,
        };
        devices.set(id, d);
      }
      d.lastSeen = now;
      d.online = true;
      const p = JSON.parse(String(msg.payload)) as Record<string, unknown>;
      const ts = typeof p.ts === 'number' ? p.ts : now;
      const alarm = (rule: string, event: string, severity: string, value: number, threshold: number, text: string): void => {
        send({ topic: `alarm/${id}/${rule}`, deviceId: id, payload: { deviceId: id, rule, event, severity, value, threshold, ts, text } });
      };
      const t = p.temperature;
      const state = d;
      if (typeof t === 'number') {
        state.tempAt = now;
        if (state.staleActive) {
          state.staleActive = false;
          alarm('sensor-stale', 'cleared', 'warning', t, 10, `${id} sensor stale cleared`);
        }
        state.run = t > 80 ? state.run + 1 : 0;
        if (!state.active && state.run >= 2) {
          state.active = true;
          alarm('overheat', 'raised', 'major', t, 80, `${id} overheat raised: ${t} °C (threshold 80 °C)`);
        } else if (state.active && t < 77) {
          state.active = false;
          alarm('overheat', 'cleared', 'major', t, 77, `${id} overheat cleared: ${t} °C (threshold 77 °C)`);
        }
      }
      const v = p.vibration;
      if (typeof v === 'number') {
        if (state.vib !== undefined && ts > state.vibAt) {
          const rate = (v - state.vib) / ((ts - state.vibAt) / 1000);
          if (!state.vibActive && rate > 1.5) {
            state.vibActive = true;
            alarm('vibration-jump', 'raised', 'minor', v, 1.5, `${id} vibration jump raised: now ${v} mm/s`);
          } else if (state.vibActive && rate <= 1.5) {
            state.vibActive = false;
            alarm('vibration-jump', 'cleared', 'minor', v, 1.5, `${id} vibration jump cleared: now ${v} mm/s`);
          }
        }
        state.vib = v;
        state.vibAt = ts;
      }
      done();
    });
    node.on('close', (_removed, done) => {
      clearInterval(sweep);
      done();
    });
  });

  RED.nodes.registerType('bench-pass', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    this.on('input', (msg: NodeMessage, send, done) => {
      msg.topic = `out/${String(msg.topic)}`;
      send(msg);
      done();
    });
  });
};
