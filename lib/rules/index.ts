export * from './types';
export { compileRules, compileRule, needsRegistry, DEFAULT_TEXT, type CompiledRule } from './compile';
export { compileTemplate } from './template';
export { RuleEngine, type ControlOp, type EngineOptions, type PersistedDevice, DEFAULT_IDLE_MS, DEFAULT_MAX_DEVICES } from './engine';
export { TimerHeap } from './timer-heap';
export { RulePersistence, type StateBackend } from './persistence';
