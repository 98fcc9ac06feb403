import path from 'path';
import type * as Mqtt from 'mqtt';
import { M2MError } from '../errors';

// mqtt.js is not a dependency of the pack: it would double the size of an install, and Node-RED already ships it
// for its core MQTT nodes. The host takes, in order: one installed beside the pack (the user's own, or hoisted),
// then Node-RED's own (beside the running red.js, or wherever node-red resolves from).
let loaded: typeof Mqtt | undefined;

export function mqttLibrary(): typeof Mqtt {
  if (loaded) return loaded;
  for (const base of [undefined, mainDir(), nodeRedDir()]) {
    try {
      const file = base === undefined ? require.resolve('mqtt') : require.resolve('mqtt', { paths: [base] });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(file) as typeof Mqtt;
      return loaded;
    } catch {
      // not there: the next place
    }
  }
  throw new M2MError(
    'BROKER_UNAVAILABLE',
    'm2m-sparkplug-host needs mqtt.js, which Node-RED ships for its MQTT nodes, and found none; install it in the Node-RED user directory (npm install mqtt)',
    { field: 'broker' },
  );
}

function mainDir(): string | undefined {
  return require.main ? path.dirname(require.main.filename) : undefined;
}

function nodeRedDir(): string | undefined {
  try {
    return path.dirname(require.resolve('node-red/package.json'));
  } catch {
    return undefined;
  }
}
