/**
 * What a simulation returns: the timeline (what happened, in order), every effect the machines
 * asked for with how it turned out, and a summary. Plain JSON, the same bytes for the same
 * scenario: `-o json` prints it as is, the text and HTML reports are written from it.
 */

/** An effect asked for by a machine, as a timeline shows it. */
export interface EffectView {
  /** The step within the incident: `remediate-1`, `approval`, `escalate-1-level-2-0`… */
  step: string;
  kind: string;
  /** "restart Pod shop/cart-1", "notify Slack #oncall (escalated)"… */
  description: string;
}

export type TimelineEntry =
  | {
      type: 'world';
      at: number;
      object: string;
      /** What changed: "container "app" in CrashLoopBackOff (restarts 3)". */
      text: string;
      /** `file:line` of the step, when a scenario step did it. */
      source: string | null;
    }
  | {
      type: 'person';
      at: number;
      object: string;
      text: string;
      /** False when the command never reached the machine (not an approver, no incident…). */
      accepted: boolean;
    }
  | {
      type: 'result';
      at: number;
      object: string;
      kind: string;
      step: string;
      outcome: 'done' | 'failed';
      text: string;
    }
  | { type: 'scaler'; at: number; object: string; text: string }
  | {
      /** The safety monitor: a policy's budget spent or available again, a storm held or over. */
      type: 'safety';
      at: number;
      /** The policy: `AutoRemediationPolicy/<namespace>/<name>`. */
      object: string;
      /** What flipped, and why: "storm: automation held, … (3 of 5 workloads unhealthy …)". */
      text: string;
      /** What it asked for: a storm's group escalation. */
      effects: EffectView[];
      /** The Kubernetes Events it recorded on the policy (StormDetected). */
      events: { type: string; reason: string; message: string }[];
    }
  | {
      type: 'machine';
      at: number;
      object: string;
      /** State before and after; null before the actor existed, `stopped` once it is gone. */
      from: string | null;
      to: string;
      /** Why, in the machine's words (its decision, or the Kubernetes Event it recorded). */
      reason: string;
      effects: EffectView[];
      /** The Kubernetes Events it recorded on the object. */
      events: { type: string; reason: string; message: string }[];
    };

/** One effect and how it turned out. */
export interface EffectRecord {
  at: number;
  object: string;
  policy: string;
  incidentId: string;
  step: string;
  kind: string;
  description: string;
  /** Why the machine asked for it. */
  reason: string;
  /**
   * done / failed: the worker reported back; refused: the worker found no budget token or node
   * slot for it (reported as failed);
   * none: nothing came back; sent: a notification or record, which nothing waits for.
   */
  outcome: 'done' | 'failed' | 'refused' | 'none' | 'sent' | 'pending';
  /** When it reported back, and what it said. */
  resultAt: number | null;
  result: string | null;
}

export interface ObjectSummary {
  object: string;
  /**
   * What a person names: `Deployment/shop/cart` for a pod of the cart Deployment's ReplicaSet,
   * `StatefulSet/…` for a StatefulSet's pod, the object itself for a bare pod, a Node…
   */
  workload: string;
  policy: string | null;
  /** The state the actor ended in; `stopped` when its object was deleted or left ungoverned. */
  state: string;
  incidents: number;
  /** The remediation effects asked for, in order, and how each turned out. */
  actions: { kind: string; outcome: EffectRecord['outcome'] }[];
  escalations: number;
  notifications: number;
}

export interface Summary {
  objects: ObjectSummary[];
  incidents: number;
  actions: {
    requested: number;
    done: number;
    failed: number;
    refusedByBudget: number;
    unanswered: number;
  };
  notifications: number;
  /** Incidents escalated to people, plus the group escalation of each storm. */
  escalations: number;
  people: { accepted: number; refused: number };
}

export interface SimulationResult {
  scenario: {
    name: string;
    description: string;
    source: string;
    /** ms since the epoch. */
    start: number;
    end: number;
    replay: boolean;
    policies: { name: string; mode: string }[];
  };
  timeline: TimelineEntry[];
  effects: EffectRecord[];
  summary: Summary;
  /** What the runtime logged as warnings or errors while simulating (none, normally). */
  warnings: string[];
}
