import { M2MError } from '../../lib/errors';
import { answerTarget, Provisioner, requestBody, type ProvisionOutcome } from '../../lib/provisioning';
import { isPlainObject } from '../../lib/safe';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/node-red';
import { lookupRegistry } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { PROVISION_CONFIG, type ProvisionConfig } from './config';

interface ProvisionCredentials {
  /** JSON `{ "<provisionKey>": "<secret>" }`, kept by Node-RED encrypted beside the flow. */
  secrets?: string;
}

/** The secrets of the node's credentials, one per profile key; INVALID_CONFIG naming what is wrong. */
function secretsOf(credentials: ProvisionCredentials, def: ProvisionConfig): Map<string, string> {
  let parsed: unknown = {};
  if (credentials.secrets) {
    try {
      parsed = JSON.parse(credentials.secrets);
    } catch {
      throw new M2MError('INVALID_CONFIG', 'the provisioning secrets cannot be read; enter them again', { field: 'secrets' });
    }
  }
  const secrets = new Map<string, string>();
  for (const { key } of def.profiles) {
    const secret = isPlainObject(parsed) ? parsed[key] : undefined;
    if (typeof secret !== 'string' || secret === '')
      throw new M2MError('INVALID_CONFIG', `provisioning key ${JSON.stringify(key)} has no secret`, { field: 'secrets' });
    secrets.set(key, secret);
  }
  return secrets;
}

function describeOutcome(outcome: ProvisionOutcome): Record<string, unknown> {
  const { answer, event, reason, deviceId, provisionKey } = outcome;
  const info: Record<string, unknown> = { event, status: answer.status, ts: Date.now() };
  if (reason !== undefined) info.reason = reason;
  if (deviceId !== undefined) info.deviceId = deviceId;
  if (provisionKey !== undefined) info.provisionKey = provisionKey;
  if (answer.status === 'BAD_REQUEST') info.error = answer.error;
  return info;
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType(
    'm2m-provision',
    function (this: Node<ProvisionCredentials>, config: NodeDef) {
      RED.nodes.createNode(this, config);
      const node = this;
      let def: ProvisionConfig;
      let provisioner: Provisioner;
      try {
        def = PROVISION_CONFIG.read(config);
        const secrets = secretsOf(node.credentials ?? {}, def);
        provisioner = new Provisioner({
          registry: lookupRegistry(RED, def.registry),
          policy: def.policy,
          profiles: def.profiles.map((p) => ({ key: p.key, deviceType: p.deviceType, secret: secrets.get(p.key) as string })),
          rateLimit: { perSecond: def.rate, burst: def.burst },
        });
      } catch (err) {
        rejectAllInput(node as Node, err, 'invalid config');
        return;
      }
      const { requestTopic, responseTopic } = def;
      const counts = { provisioned: 0, refused: 0 };
      const status = new ThrottledStatus(node as Node, () => ({
        fill: 'green',
        shape: counts.provisioned + counts.refused === 0 ? 'ring' : 'dot',
        text: `${def.policy}: ${counts.provisioned} provisioned, ${counts.refused} refused`,
      }));
      status.show();

      onInput(
        node as Node,
        async (msg, send) => {
          const payload = msg.payload;
          let body: Record<string, unknown> | undefined;
          try {
            body = requestBody(payload);
          } catch {
            body = undefined;
          }
          // the secret goes no further than the check: not to the next node, not to a Catch node
          msg.payload = body && Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'provisionSecret'));
          const target = answerTarget(
            { topic: msg.topic, payload, responseTopic: msg.responseTopic, correlationData: msg.correlationData },
            requestTopic,
            responseTopic,
            body,
          );
          if (target === undefined) {
            counts.refused++;
            status.schedule();
            throw new M2MError(
              'INVALID_FIELD',
              `a provisioning request on ${JSON.stringify(msg.topic)} has nowhere to be answered: no MQTT 5 response topic, and no client id after ${requestTopic}/ or in the request`,
              { field: 'responseTopic' },
            );
          }
          const outcome = await provisioner.provision(body ?? payload);
          if (outcome.event === 'provisioned') counts.provisioned++;
          else counts.refused++;
          status.schedule();
          // a new message: the request's retain flag and MQTT 5 properties must not go out with a credential
          const answer: NodeMessage = { _msgid: msg._msgid, topic: target.topic, payload: outcome.answer, qos: 1, retain: false };
          if (target.correlationData) answer.correlationData = target.correlationData;
          if (outcome.deviceId !== undefined && outcome.event === 'provisioned') answer.deviceId = outcome.deviceId;
          const info = describeOutcome(outcome);
          send([answer, { topic: `provision/${outcome.event}`, deviceId: outcome.deviceId, payload: info }]);
          if (outcome.error !== undefined) throw outcome.error;
        },
        { orderBy: () => undefined },
      );

      node.on('close', (_removed, done) => {
        status.stop();
        done();
      });
    },
    { credentials: { secrets: { type: 'text' } } },
  );
};
