/**
 * Multi-signal scaling (docs/adr/0008-multi-signal-scaling.md): the pure decision, the scaler
 * loop that feeds it from Prometheus, HPA detection, and what decisions become (proposals for the
 * Deployment's actor, effect jobs, policy status problems).
 */
export {
  decide,
  DEFAULT_STALE_AFTER_MS,
  formatTime,
  formatValue,
  judge,
  proportionalReplicas,
  type JudgedSignal,
} from './decide.ts';
export { HORIZONTAL_POD_AUTOSCALERS, HpaIndex, hpaTarget, type HpaLookup } from './hpa.ts';
export {
  deploymentKey,
  PROMETHEUS_NOT_CONFIGURED,
  scaleProposedEvent,
  scalingEffectJob,
  scalingProblems,
  type ScaledDeployment,
  type ScalingProposal,
  type ScalingSink,
  type ScalingState,
} from './proposals.ts';
export { Scaler, type ScalerOptions } from './scaler.ts';
export { renderQuery, signalFromError, signalFromSeries } from './signals.ts';
export type {
  DecisionInput,
  HpaRef,
  Sample,
  ScalingDecision,
  ScalingDecisionKind,
  ScalingPolicy,
  SignalInput,
  SignalReport,
  SignalSpec,
  SignalVerdict,
} from './types.ts';
