/**
 * A person's command for a workload's incident, as an agent reads it from its control stream.
 * The Slack endpoint sent it to the pod that held the incident then (src/chatops/routing.ts),
 * but the holder may have changed before this agent read it: a replacement took the
 * verification over meanwhile, or the message waited while this agent was down. The agent then
 * sends it on to the holder, once; a command the addressed actor cannot take is logged, never
 * dropped in silence.
 */
import type { ControlMessage } from '../effects/control-stream.ts';
import { isCommand, type MachineEvent } from '../machines/events.ts';
import type { Logger } from '../telemetry/index.ts';
import { commandRoute } from '../workloads/rules.ts';
import type { WorkloadStore } from '../workloads/store.ts';

/** Set on a command sent on by an agent: it is not sent on again. */
export const FORWARDED_FROM = 'forwardedFrom';

export type CommandDelivery =
  /** To the actor it names (not a workload's incident, or its actor still holds it). */
  | { to: 'addressed' }
  /** To the actor that holds the incident now, through its owner's stream. */
  | { to: 'holder'; message: ControlMessage; owner: string };

/** Where a control message goes: only people's commands for a workload's incident may move. */
export async function commandDelivery(
  message: ControlMessage,
  owner: string,
  workloads: Pick<WorkloadStore, 'read'>,
): Promise<CommandDelivery> {
  const workload = message.payload['workload'];
  const incidentId = message.payload['incidentId'];
  if (
    !isCommand(message) ||
    typeof workload !== 'string' ||
    typeof incidentId !== 'string' ||
    message.payload[FORWARDED_FROM] !== undefined
  )
    return { to: 'addressed' };
  const route = commandRoute(await workloads.read(workload), incidentId, {
    actorKey: message.actorKey,
    owner,
  });
  if (route.route !== 'holder' || route.actorKey === message.actorKey) return { to: 'addressed' };
  return {
    to: 'holder',
    owner: route.owner,
    message: {
      ...message,
      actorKey: route.actorKey,
      payload: { ...message.payload, [FORWARDED_FROM]: message.actorKey },
    },
  };
}

export interface ControlDeliveryOptions {
  /** This process's owner (`agent-<node>`): the stream it reads. */
  owner: string;
  workloads: Pick<WorkloadStore, 'read'>;
  /** Delivers an event to an actor of this process, in order with its other events. */
  deliver: (key: string, event: MachineEvent) => Promise<void>;
  /** Whether this process runs the actor. */
  runs: (key: string) => boolean;
  /** Appends a control message to another owner's stream. */
  publish: (owner: string, message: ControlMessage) => Promise<unknown>;
  logger: Logger;
}

/**
 * What an agent does with each control message once translated: people's commands for a
 * workload's incident go on to its holder when it moved; everything else goes to the actor it
 * names. A failure to read the workload's memory rejects, so the message stays pending and is
 * read again.
 */
export function controlDelivery(
  options: ControlDeliveryOptions,
): (message: ControlMessage, event: MachineEvent) => Promise<void> {
  return async (message, event) => {
    const delivery = await commandDelivery(message, options.owner, options.workloads);
    if (delivery.to === 'holder') {
      const holder = delivery.message.actorKey;
      options.logger.info(
        { object: message.actorKey, holder, type: message.type, id: message.id },
        "a person's command for the workload's incident goes on to the pod that holds it now",
      );
      if (delivery.owner === options.owner) await options.deliver(holder, event);
      else await options.publish(delivery.owner, delivery.message);
      return;
    }
    if (isCommand(message) && !options.runs(message.actorKey)) {
      options.logger.warn(
        { object: message.actorKey, type: message.type, id: message.id },
        "a person's command for an actor this process does not run (its object is gone, or no policy selects it); nothing was done",
      );
      return;
    }
    await options.deliver(message.actorKey, event);
  };
}
