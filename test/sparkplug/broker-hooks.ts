// Mocha hooks for a Sparkplug node suite on the test broker: started before the suite; after it the host's retained
// STATE (online: false after its clean stop) is cleared, as it is this run's alone, and the broker closed.
import { startBroker, type TestBroker } from '../helpers/services';

/** Call inside a describe(); `url` is the broker's once the suite's before hook has run. */
export function useSparkplugBroker(hostId: string): { readonly url: string } {
  let broker: TestBroker | undefined;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    if (!broker) return;
    const mqtt = await import('mqtt');
    const client = await mqtt.connectAsync(broker.url);
    await client.publishAsync(`spBv1.0/STATE/${hostId}`, '', { retain: true, qos: 1 });
    await client.endAsync();
    await broker.close();
  });
  return {
    get url(): string {
      if (!broker) throw new Error('the Sparkplug test broker is not started yet');
      return broker.url;
    },
  };
}
