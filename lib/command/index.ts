export * from './types';
export { CommandTracker, type TrackerOptions, type SubmitResult, type ReplyOutcome, type TrackerCounts, type PendingInfo } from './tracker';
export { parseReply, correlationData, type ParsedReply } from './reply';
export { COMMAND_RECORD_VERSION, readCommandRecord } from './record';
export { MemoryCommandStore } from './store';
export { checkTemplate, compileTemplate, templatePattern, templateSubscription } from './topics';
export { checkCommandDeviceId, checkCommandName, checkCommandOptions, type CommandOptions } from './input';
export { isReply } from './classify';
