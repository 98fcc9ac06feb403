export { JobManager, JOB_CONTROLS, type JobControl, type JobManagerOptions } from './manager';
export { readJobDocument, checkJobId, JOB_LIMITS } from './document';
export { commandIdOf, parseCommandId } from './job';
export { JOB_RECORD_VERSION } from './record';
export * from './types';
