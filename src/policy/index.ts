/**
 * AutoRemediationPolicy: the typed policy, the index answering "which policy governs this object",
 * and the controller writing policy status. See docs/adr/0005-policies-and-tenancy.md.
 *
 * Pure: nothing exported here does I/O. The client-node implementations of the controller's ports
 * are in ./kubernetes.ts, imported by the runtime only.
 */
export * from './vocabulary.ts';
export {
  policySpecSchema,
  type Detection,
  type EscalationTarget,
  type LabelRequirement,
  type PolicySelector,
  type PolicySpec,
  type PolicySpecInput,
  type RecentAction,
  type Scaling,
} from './schema.ts';
export {
  parsePolicy,
  policyKey,
  type ParseResult,
  type Policy,
  type PolicyRef,
  type PolicyResource,
} from './policy.ts';
export {
  compileSelector,
  rankOf,
  specificityOf,
  type Labels,
  type Specificity,
} from './selector.ts';
export {
  objectKey,
  PolicyIndex,
  type Governance,
  type GovernanceChange,
  type ObjectIdentity,
  type PolicyIndexOptions,
  type PolicyTally,
} from './policy-index.ts';
export {
  policyStatus,
  slackNotConfiguredProblem,
  statusDiffers,
  type Condition,
  type PolicyFacts,
  type PolicyProblem,
  type PolicyStatus,
  type UnsentNotice,
  type UnsentNotifications,
} from './status.ts';
export {
  PolicyController,
  syncIndex,
  type PolicyControllerOptions,
  type PolicyEvent,
  type PolicyReports,
  type PolicySource,
  type PolicyStatusWriter,
} from './controller.ts';
