/**
 * From an AutoRemediationPolicy (parsed, defaulted) to what the machines read. The CRD says
 * which actions a team allows; a few machine timings have no CRD field and take the defaults
 * below, which are the same for every policy.
 */
import { splitFloor } from '../budgets/healthy-nodes.ts';
import {
  machinePolicyProblems,
  type DetectionRule,
  type MachinePolicy,
} from '../machines/index.ts';
import type { Policy } from '../policy/index.ts';
import type { DetectionType } from '../policy/vocabulary.ts';

/** How long people have to approve (or merge a pull request) before the incident escalates. */
export const APPROVAL_TIMEOUT_MS = 30 * 60_000;
/** How long a worker has to report an effect's result before the incident escalates. */
export const EFFECT_TIMEOUT_MS = 10 * 60_000;

export function policyRefOf(policy: Policy): string {
  return `${policy.ref.namespace}/${policy.ref.name}`;
}

/**
 * The policy as the machines read it. `actsOn` keeps only the symptoms the compiling role acts on
 * (symptom-owners.ts): a node's agent leaves readiness to the controller and the other way round.
 */
export function toMachinePolicy(
  policy: Policy,
  actsOn: (type: DetectionType) => boolean = () => true,
): MachinePolicy {
  const detections: Partial<Record<DetectionType, DetectionRule>> = {};
  for (const d of policy.detections) {
    if (!actsOn(d.type)) continue;
    const rule: DetectionRule = { threshold: d.threshold, windowMs: d.windowMs, action: d.action };
    if (d.replicas !== undefined) rule.replicas = d.replicas;
    if (d.taint !== undefined) {
      rule.taint = {
        key: d.taint.key,
        effect: d.taint.effect,
        ...(d.taint.value === undefined ? {} : { value: d.taint.value }),
      };
    }
    if (d.memory !== undefined) {
      rule.memory = {
        increasePercent: d.memory.increasePercent,
        ...(d.memory.max === undefined ? {} : { max: d.memory.max }),
      };
    }
    if (d.deleteBarePods !== undefined) rule.deleteBarePods = d.deleteBarePods;
    if (d.attempts !== undefined) rule.attempts = d.attempts;
    if (d.then !== undefined) rule.then = d.then;
    if (d.outOfServiceWhenFenced !== undefined)
      rule.outOfServiceWhenFenced = d.outOfServiceWhenFenced;
    detections[d.type] = rule;
  }
  const machinePolicy: MachinePolicy = {
    name: policyRefOf(policy),
    mode: policy.mode,
    detections,
    ...(policy.paused === undefined ? {} : { paused: policy.paused }),
    cooldownMs: policy.cooldownMs,
    verificationWindowMs: policy.verification.windowMs,
    approvalTimeoutMs: APPROVAL_TIMEOUT_MS,
    effectTimeoutMs: EFFECT_TIMEOUT_MS,
    escalation: policy.escalation?.levels ?? [],
    quarantine: {
      maxRemediations: policy.quarantine.maxRemediations,
      windowMs: policy.quarantine.windowMs,
    },
    node: {
      // A team that names drain for any node detection this role acts on allows draining;
      // cordon alone never drains.
      drainAllowed: policy.detections.some((d) => actsOn(d.type) && d.action === 'drain'),
      ...splitFloor(policy.budget.minHealthyNodes),
    },
    deployment: {
      rollbackOnFailedRollout: policy.detections.some(
        (d) => d.type === 'RolloutFailed' && d.action === 'rollback',
      ),
    },
  };
  const problems = machinePolicyProblems(machinePolicy);
  if (problems.length > 0) {
    throw new Error(
      `policy ${machinePolicy.name} cannot drive the machines: ${problems.join('; ')}`,
    );
  }
  return machinePolicy;
}
