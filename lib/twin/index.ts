export { computeDelta, isEmpty } from './delta';
export { jsonEqual, type JsonObject, type JsonValue } from './json';
export { applyMergePatch } from './merge-patch';
export { TWIN_FORMAT, TWIN_NAMESPACE, type TwinRecord, type TwinSide } from './record';
export * from './twin';
