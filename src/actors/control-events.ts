/**
 * Control messages (effect results from workers, people's commands from Slack, proposals from
 * the scaler) as the machine events they stand for. An unknown or malformed message becomes
 * nothing, with the reason, rather than an event a machine would misread.
 */
import type { ControlMessage } from '../effects/control-stream.ts';
import type { MachineEvent } from '../machines/index.ts';

export type Translation = { event: MachineEvent } | { ignored: string };

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

export function toMachineEvent(message: ControlMessage, now: number): Translation {
  const p = message.payload;
  const at = num(p['at']) ?? now;
  const incidentId = str(p['incidentId']);
  switch (message.type) {
    case 'EFFECT.DONE':
    case 'EFFECT.FAILED': {
      const step = str(p['step']);
      if (incidentId === undefined || step === undefined)
        return { ignored: 'effect result without incident and step' };
      const effectId = `${incidentId}/${step}`;
      if (message.type === 'EFFECT.DONE') {
        const outcome = str((p['result'] as { outcome?: unknown } | undefined)?.outcome);
        return {
          event: {
            type: 'EFFECT.DONE',
            at,
            effectId,
            ...(outcome === undefined ? {} : { outcome }),
          },
        };
      }
      const error =
        str((p['error'] as { message?: unknown } | undefined)?.message) ?? 'unknown error';
      return { event: { type: 'EFFECT.FAILED', at, effectId, error } };
    }
    case 'PROPOSAL.MERGED':
    case 'PROPOSAL.CLOSED': {
      // Like effect results, proposals name the step of the incident that opened them.
      const step = str(p['step']);
      if (incidentId === undefined || step === undefined)
        return { ignored: 'proposal result without incident and step' };
      return {
        event: {
          type: message.type,
          at,
          effectId: `${incidentId}/${step}`,
          by: str(p['by']) ?? 'unknown',
        },
      };
    }
    case 'PROPOSAL.STALE':
      return { ignored: 'a stale pull request changes nothing; the approval timeout escalates it' };
    case 'SCALE.PROPOSED': {
      const from = num(p['from']);
      const to = num(p['to']);
      if (from === undefined || to === undefined)
        return { ignored: 'scale proposal without from and to' };
      return { event: { type: 'SCALE.PROPOSED', at, from, to, reason: str(p['reason']) ?? '' } };
    }
    case 'APPROVE':
    case 'REJECT':
    case 'ESCALATE':
    case 'SNOOZE':
    case 'ACK': {
      const by = str(p['by']);
      if (by === undefined || incidentId === undefined)
        return { ignored: `${message.type} without who and which incident` };
      const base = { at, by, incidentId, id: message.id };
      if (message.type === 'SNOOZE') {
        const durationMs = num(p['durationMs']);
        if (durationMs === undefined || durationMs <= 0)
          return { ignored: 'SNOOZE without a duration' };
        return { event: { type: 'SNOOZE', ...base, durationMs } };
      }
      const reason = str(p['reason']);
      if (message.type === 'REJECT' || message.type === 'ESCALATE') {
        return {
          event: { type: message.type, ...base, ...(reason === undefined ? {} : { reason }) },
        };
      }
      return { event: { type: message.type, ...base } };
    }
    case 'TRIGGER': {
      const by = str(p['by']);
      if (by === undefined) return { ignored: 'TRIGGER without who' };
      const reason = str(p['reason']);
      return { event: { type: 'TRIGGER', at, by, ...(reason === undefined ? {} : { reason }) } };
    }
    default:
      return { ignored: `unknown control message type ${message.type}` };
  }
}
