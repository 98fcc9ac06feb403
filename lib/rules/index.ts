export * from './types';
export { compileRules, compileRule, needsRegistry, defaultTexts, TEXT_FIELDS, JSONATA_VALUES, jsonataThresholds, type CompiledRule } from './compile';
export { compileTemplate } from './template';
export { RuleEngine, type ControlOp, type EngineOptions, DEFAULT_IDLE_MS, DEFAULT_MAX_DEVICES, MISSING_METRIC_HINT_AFTER } from './engine';
export { RULE_STATE_VERSION, type PersistedAlarm, type PersistedDevice } from './state-format';
export { TimerHeap } from './timer-heap';
export { RulePersistence, type StateBackend } from './persistence';
export { KeptStates, KeptState, CONTEXT_KEY, type NodeContextStore } from './kept-state';
