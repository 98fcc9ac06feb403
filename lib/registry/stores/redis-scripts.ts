import type Redis from 'ioredis';

/*
 * Device writes are compare-and-set inside Redis, so that a registry holding a stale copy of a device can
 * never overwrite a newer record. Each stored device JSON ends in `"rev":<n>`, taken from a counter shared
 * by the whole namespace (so a device removed and registered again never reuses a revision); records
 * written before revisions existed read as rev 0. The change is published in the same script, so a
 * write and its announcement cannot be separated.
 */

/**
 * `expected` '' means the device must not exist yet. Returns {1, newRev}, {0, currentJson or ''} on a
 * conflict, or {2, ''} when the namespace's epoch is not the writer's: Redis lost its data since the writer
 * loaded, and an absent record proves nothing until the writer has restored what it holds.
 */
const PUT_DEVICE = `
if redis.call('GET', KEYS[3]) ~= ARGV[6] then return {2, ''} end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if current then return {0, current} end
else
  if not current then return {0, ''} end
  if (cjson.decode(current).rev or 0) ~= tonumber(ARGV[2]) then return {0, current} end
end
local rev = redis.call('INCR', KEYS[2])
-- After Redis lost its data and was restored, the counter may lag behind a restored record.
local base = tonumber(ARGV[2]) or 0
if rev <= base then
  rev = base + 1
  redis.call('SET', KEYS[2], rev)
end
local stored = string.sub(ARGV[3], 1, -2) .. ',"rev":' .. rev .. '}'
redis.call('HSET', KEYS[1], ARGV[1], stored)
redis.call('PUBLISH', ARGV[5], ARGV[4] .. stored .. '}')
return {1, rev}
`;

/** Removing a device that is already gone succeeds; one changed since `expected` is refused like a put. */
const DELETE_DEVICE = `
if redis.call('GET', KEYS[4]) ~= ARGV[5] then return {2, ''} end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return {1, 0} end
if ARGV[2] ~= '' and (cjson.decode(current).rev or 0) ~= tonumber(ARGV[2]) then return {0, current} end
local rev = redis.call('INCR', KEYS[3])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[3] .. rev .. '}')
return {1, rev}
`;

/** Puts back a device that Redis lost (restarted without persistence), with the revision it had, unless it is there again. */
const RESTORE_DEVICE = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then return {0, current} end
local rev = tonumber(ARGV[3])
local stored = string.sub(ARGV[2], 1, -2) .. ',"rev":' .. rev .. '}'
redis.call('HSET', KEYS[1], ARGV[1], stored)
if rev > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], rev) end
redis.call('PUBLISH', ARGV[5], ARGV[4] .. stored .. '}')
return {1, rev}
`;

/** Puts back a state entry that Redis lost, unless another instance already did. */
const RESTORE_STATE = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {0, redis.call('HGET', KEYS[1], ARGV[1])} end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[5], ARGV[4])
return {1, ''}
`;

/** Last-seen times only ever move forward, whichever instance flushes last; removed devices stay removed. */
const MERGE_SEEN = `
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then
    local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
    if tonumber(ARGV[i + 1]) > current then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  end
end
return 0
`;

export type ScriptReply = [0 | 1 | 2, number | string];

export interface ScriptedRedis extends Redis {
  /** keys: devices, rev counter, epoch; args: id, expected rev, device JSON without rev, message prefix, channel, epoch */
  m2mPutDevice(
    devices: string,
    counter: string,
    epochKey: string,
    id: string,
    expected: string,
    json: string,
    messagePrefix: string,
    channel: string,
    epoch: string,
  ): Promise<ScriptReply>;
  /** keys: devices, seen, rev counter, epoch; args: id, expected rev, message prefix, channel, epoch */
  m2mDeleteDevice(
    devices: string,
    seen: string,
    counter: string,
    epochKey: string,
    id: string,
    expected: string,
    messagePrefix: string,
    channel: string,
    epoch: string,
  ): Promise<ScriptReply>;
  /** keys: devices, rev counter; args: id, device JSON without rev, rev, message prefix, channel */
  m2mRestoreDevice(devices: string, counter: string, id: string, json: string, rev: string, messagePrefix: string, channel: string): Promise<ScriptReply>;
  /** keys: state hash, namespaces; args: key, value JSON, namespace, message, channel */
  m2mRestoreState(state: string, namespaces: string, key: string, json: string, namespace: string, message: string, channel: string): Promise<ScriptReply>;
  /** keys: seen, devices; args: id, time, id, time, … */
  m2mMergeSeen(seen: string, devices: string, ...idTimePairs: Array<string | number>): Promise<number>;
}

export function defineScripts(client: Redis): ScriptedRedis {
  client.defineCommand('m2mPutDevice', { numberOfKeys: 3, lua: PUT_DEVICE });
  client.defineCommand('m2mDeleteDevice', { numberOfKeys: 4, lua: DELETE_DEVICE });
  client.defineCommand('m2mRestoreDevice', { numberOfKeys: 2, lua: RESTORE_DEVICE });
  client.defineCommand('m2mRestoreState', { numberOfKeys: 2, lua: RESTORE_STATE });
  client.defineCommand('m2mMergeSeen', { numberOfKeys: 2, lua: MERGE_SEEN });
  return client as ScriptedRedis;
}
