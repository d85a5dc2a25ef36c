/** Node analyzer: the kubelet's node conditions, read through a table of which statuses are bad. */
import type { NodeObservation } from '../observe/index.ts';
import type { Analyzer, Detection, DetectionType } from './types.ts';

export interface NodeConditionRule {
  condition: string;
  badStatuses: readonly string[];
  type: DetectionType;
  /** How the sentence starts. */
  says: string;
}

export const NODE_CONDITION_RULES: readonly NodeConditionRule[] = [
  {
    condition: 'Ready',
    badStatuses: ['False', 'Unknown'],
    type: 'NotReady',
    says: 'node is NotReady',
  },
  {
    condition: 'MemoryPressure',
    badStatuses: ['True'],
    type: 'MemoryPressure',
    says: 'node has MemoryPressure',
  },
  {
    condition: 'DiskPressure',
    badStatuses: ['True'],
    type: 'DiskPressure',
    says: 'node has DiskPressure',
  },
  {
    condition: 'PIDPressure',
    badStatuses: ['True'],
    type: 'PIDPressure',
    says: 'node has PIDPressure',
  },
];

export const analyzeNode: Analyzer<NodeObservation> = (node) => {
  const detections: Detection[] = [];
  for (const rule of NODE_CONDITION_RULES) {
    const condition = node.conditions.find((c) => c.type === rule.condition);
    if (!condition || !rule.badStatuses.includes(condition.status)) continue;
    const reason = condition.reason ? ` (${condition.reason})` : '';
    const message = condition.message ? `: ${condition.message}` : '';
    detections.push({
      type: rule.type,
      reason: `${rule.says}: condition ${condition.type} is ${condition.status}${reason}${message}`,
    });
  }
  return detections;
};
