/**
 * Lease-based leader election, as client-go and controller-runtime do it (no elector ships with
 * client-node). Timings default to controller-runtime's: lease 15 s, renew deadline 10 s, retry
 * 2 s, so a standby takes over at most ~17 s after a leader dies without releasing.
 *
 * Expiry is judged by the local clock from when this process last saw the lease change, never
 * by comparing the holder's timestamps with ours, so clock skew between nodes cannot cause two
 * leaders. Updates carry the resourceVersion read, so of two racing candidates one gets 409.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../telemetry/index.ts';
import { isConflict, isNotFound } from './errors.ts';

/**
 * A Lease's times are MicroTime (six fractional digits); client-node serializes a Date with three,
 * which the API server rejects. Its serializer passes non-Date values through untouched, so the
 * time goes as the string the server expects.
 */
function microTime(at: Date | string | undefined): Date {
  const iso = (at instanceof Date ? at : new Date(at ?? Date.now())).toISOString();
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export interface LeaderElectionOptions {
  /** Lease name, e.g. `kube-remedy-controller`. */
  name: string;
  namespace: string;
  /** This candidate's identity, unique per process (pod name + random suffix). */
  identity: string;
  /** How long a lease is valid without renewal. Default: 15 s. */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long steps down. Default: 10 s. */
  renewDeadlineMs?: number;
  /** Time between attempts. Default: 2 s. */
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  /** Called when leadership is lost or given up; the process must stop leader-only work now. */
  onStoppedLeading: () => void;
  logger: Logger;
  /** Local monotonic-enough clock in ms. Default: Date.now. */
  now?: () => number;
}

export interface LeaderElector {
  isLeader: () => boolean;
  /**
   * Stops campaigning. A leader releases the lease so a standby takes over at once; with
   * `release: false` it just goes silent, as a crashed process would (the lease then expires).
   */
  stop: (options?: { release?: boolean }) => Promise<void>;
}

export function startLeaderElection(kc: KubeConfig, options: LeaderElectionOptions): LeaderElector {
  const api = kc.makeApiClient(CoordinationV1Api);
  const leaseMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryMs = options.retryPeriodMs ?? 2_000;
  const now = options.now ?? Date.now;
  const log = options.logger.child({ lease: `${options.namespace}/${options.name}` });
  const { name, namespace, identity } = options;

  let leader = false;
  let stopped = false;
  let lastRenewed = 0;
  /** The last lease record seen and when it was first seen locally. */
  let observed: { holder: string; renewTime: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> = Promise.resolve();

  const leaseSeconds = Math.ceil(leaseMs / 1000);

  function spec(previous: V1Lease['spec'] | undefined, at: Date): NonNullable<V1Lease['spec']> {
    const takingOver = previous?.holderIdentity !== identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: microTime(takingOver ? at : (previous?.acquireTime ?? at)),
      renewTime: microTime(at),
      leaseTransitions:
        (previous?.leaseTransitions ?? 0) + (takingOver && previous?.holderIdentity ? 1 : 0),
    };
  }

  /** One try to acquire or renew; true when this process holds the lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    const at = new Date(now());
    let current: V1Lease;
    try {
      current = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: spec(undefined, at) },
        });
        return true;
      } catch (createError) {
        if (isConflict(createError)) return false;
        throw createError;
      }
    }
    const holder = current.spec?.holderIdentity ?? '';
    const renewTime = String(current.spec?.renewTime ?? '');
    if (observed === undefined || observed.holder !== holder || observed.renewTime !== renewTime) {
      observed = { holder, renewTime, at: now() };
    }
    const heldByOther = holder !== '' && holder !== identity;
    const otherDuration = (current.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (heldByOther && observed.at + otherDuration > now()) return false;
    try {
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...current, spec: spec(current.spec, at) },
      });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  function becomeLeader(): void {
    if (leader) return;
    leader = true;
    log.info({ identity }, 'became leader');
    options.onStartedLeading();
  }

  function stepDown(reason: string): void {
    if (!leader) return;
    leader = false;
    log.warn({ identity, reason }, 'stopped leading');
    options.onStoppedLeading();
  }

  async function tick(): Promise<void> {
    try {
      const held = await tryAcquireOrRenew();
      if (stopped) return;
      if (held) {
        lastRenewed = now();
        becomeLeader();
      } else {
        stepDown('another candidate holds the lease');
      }
    } catch (error) {
      log.warn({ err: error }, 'lease update failed');
      if (leader && now() - lastRenewed > renewDeadlineMs)
        stepDown('could not renew within the renew deadline');
    }
  }

  function schedule(): void {
    if (stopped) return;
    // Jitter the retry like client-go (up to +20%) so candidates do not move in lockstep.
    const delay = leader ? retryMs : retryMs * (1 + 0.2 * Math.random());
    timer = setTimeout(() => {
      attempt = tick().finally(schedule);
    }, delay);
  }

  attempt = tick().finally(schedule);

  return {
    isLeader: () => leader,
    stop: async ({ release = true } = {}) => {
      stopped = true;
      clearTimeout(timer);
      await attempt.catch(() => undefined);
      if (!leader) return;
      if (!release) {
        stepDown('stopped without releasing');
        return;
      }
      try {
        const current = await api.readNamespacedLease({ name, namespace });
        if (current.spec?.holderIdentity === identity) {
          await api.replaceNamespacedLease({
            name,
            namespace,
            body: {
              ...current,
              spec: {
                ...current.spec,
                holderIdentity: '',
                leaseDurationSeconds: 1,
                acquireTime: microTime(current.spec.acquireTime),
                renewTime: microTime(new Date(now())),
              },
            },
          });
        }
      } catch (error) {
        log.warn(
          { err: error },
          'could not release the lease; a standby takes over when it expires',
        );
      } finally {
        stepDown('stopped');
      }
    },
  };
}
