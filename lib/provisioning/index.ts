export {
  Provisioner,
  PROVISION_POLICIES,
  type ProvisionPolicy,
  type ProvisionProfile,
  type ProvisionerOptions,
  type ProvisionAnswer,
  type ProvisionOutcome,
} from './provisioner';
export { answerTarget, parseRequest, requestBody, MAX_REQUEST_BYTES, type AnswerTarget, type IncomingRequest, type ProvisionRequest } from './request';
export { KeyRateLimiter, type RateLimitOptions } from './rate-limit';
