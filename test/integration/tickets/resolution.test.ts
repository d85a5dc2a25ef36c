/**
 * A ticket through an incident's life, from the machine to the tracker: a pod actor in an
 * ActorHost on real Redis escalates to a ticket target, the tickets worker opens the ticket on
 * the fake Jira or GitHub through the real SDK, the pod recovers, and the resolution closes the
 * ticket with one comment, even when closing fails once and the job runs again.
 */
import { Redis } from 'ioredis';
import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../../src/adapters/github/client.ts';
import { GitHubIssueTracker } from '../../../src/adapters/github/issues.ts';
import { createJiraClient, JiraTracker } from '../../../src/adapters/jira/tracker.ts';
import { toMachineEvent } from '../../../src/actors/control-events.ts';
import { roleEffectSink } from '../../../src/actors/effect-jobs.ts';
import { ActorHost } from '../../../src/actors/host.ts';
import { toMachinePolicy } from '../../../src/actors/machine-policy.ts';
import { SnapshotStore } from '../../../src/actors/snapshot-store.ts';
import { analyze } from '../../../src/analyzers/index.ts';
import { effectJobId, type EffectJob } from '../../../src/effects/catalogue.ts';
import { startControlConsumer } from '../../../src/effects/control-stream.ts';
import { EffectQueues } from '../../../src/effects/queues.ts';
import { ticketProcessors } from '../../../src/effects/tickets/index.ts';
import { startEffectWorkers } from '../../../src/effects/workers.ts';
import type { MachineEvent } from '../../../src/machines/index.ts';
import { observe, type PodObject } from '../../../src/observe/index.ts';
import { parsePolicy } from '../../../src/policy/index.ts';
import type { TicketTracker } from '../../../src/tickets/tracker.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { FakeJira } from '../../support/fake-jira.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { podObject } from '../../support/pods.ts';
import { redisForTest } from '../../support/redis.ts';

const KEY = 'Pod/shop/cart-1';
const OWNER = 'agent-node-1';
const START = Date.parse('2026-11-28T10:00:00Z');
const MINUTE = 60_000;

interface Tracker {
  ticket: { provider: 'jira' | 'github'; project: string };
  tracker: TicketTracker;
  /** The one ticket the incident opened: its status and comments. */
  state: () => { open: boolean; comments: string[] } | undefined;
  /** Makes the next request that closes the ticket fail with a server error. */
  failClosingOnce: () => void;
  /** How many requests to close the ticket were made. */
  closings: () => number;
  stop: () => Promise<void>;
}

async function jira(): Promise<Tracker> {
  const fake = new FakeJira();
  await fake.start();
  const client = createJiraClient({
    baseUrl: fake.url,
    email: fake.email,
    apiToken: fake.apiToken,
    onSchemaMismatch: 'throw',
  });
  const closing = /\/issue\/OPS-1\/transitions$/;
  return {
    ticket: { provider: 'jira', project: 'OPS' },
    tracker: new JiraTracker({ client, baseUrl: fake.url, issueType: 'Incident' }),
    state: () => {
      if (fake.issues.length === 0) return undefined;
      return { open: fake.issue('OPS-1').status !== 'done', comments: fake.commentTexts('OPS-1') };
    },
    failClosingOnce: () =>
      fake.failNext({ method: 'POST', path: closing, status: 503, body: 'Service Unavailable' }),
    closings: () => fake.log.filter((r) => r.method === 'POST' && closing.test(r.path)).length,
    stop: async () => {
      await fake.stop();
      expect(fake.violations).toEqual([]);
    },
  };
}

async function github(): Promise<Tracker> {
  const fake = new FakeGitHub();
  await fake.start();
  fake.createRepo('shop/incidents', { 'README.md': '# incidents\n' });
  const closing = /\/repos\/shop\/incidents\/issues\/1$/;
  return {
    ticket: { provider: 'github', project: 'shop/incidents' },
    tracker: new GitHubIssueTracker(createGitHubClient({ token: fake.token, baseUrl: fake.url })),
    state: () => {
      const [issue] = fake.issues('shop/incidents');
      if (issue === undefined) return undefined;
      return { open: issue.state === 'open', comments: fake.comments('shop/incidents', 1) };
    },
    failClosingOnce: () =>
      fake.failNext({ method: 'PATCH', path: closing, status: 503, body: { message: 'down' } }),
    closings: () => fake.requests('PATCH', closing).length,
    stop: async () => {
      await fake.stop();
      expect(fake.violations).toEqual([]);
    },
  };
}

function observed(crashLooping: boolean, at: number): MachineEvent {
  const observation = observe(
    podObject({ restarts: 4, crashLooping, name: 'cart-1' }) as unknown as PodObject,
  );
  return { type: 'OBSERVED', at, observation, detections: analyze(observation) };
}

describe('the ticket of an escalated incident', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it.each([
    ['Jira', jira],
    ['GitHub', github],
  ])(
    'on %s is opened by the ladder and closed once, with one comment, when the incident resolves',
    async (_name, trackerOf) => {
      const t = await trackerOf();
      closers.push(t.stop);
      const scratch = await redisForTest();
      closers.push(() => scratch.cleanup());
      const connection = new Redis(scratch.url, { maxRetriesPerRequest: null });
      const reader = new Redis(scratch.url);
      closers.push(
        () => connection.quit(),
        () => reader.quit(),
      );
      const logger = captureLogger().logger;

      const parsed = parsePolicy({
        apiVersion: 'remedy.kube-remedy.io/v1alpha1',
        kind: 'AutoRemediationPolicy',
        metadata: { namespace: 'shop', name: 'cart', generation: 1 },
        spec: {
          selector: { kinds: ['Pod'], matchLabels: { app: 'cart' } },
          mode: 'auto',
          // People handle crash loops of the cart: the ladder opens a ticket at once.
          detections: [{ type: 'CrashLoopBackOff', threshold: 1, window: '1m', action: 'notify' }],
          verification: { window: '5m' },
          ticket: t.ticket,
          escalation: { levels: [{ after: '0s', targets: [{ type: 'ticket' }] }] },
        },
      });
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      const policy = parsed.policy;

      const queues = new EffectQueues({
        connection,
        keyPrefix: scratch.prefix,
        attempts: 3,
        backoffMs: 10,
      });
      closers.push(() => queues.close());
      const processors = ticketProcessors({ trackers: { [t.ticket.provider]: t.tracker } });
      const workers = startEffectWorkers({
        connection,
        redis: scratch.redis,
        keyPrefix: scratch.prefix,
        integrations: ['tickets'],
        owner: OWNER,
        processors,
        logger,
      });
      closers.push(() => workers.close());

      const clock = new SimulatedClock();
      clock.set(START);
      const enqueued: EffectJob[] = [];
      const host = new ActorHost({
        clock,
        store: new SnapshotStore({ redis: scratch.redis, keyPrefix: scratch.prefix, owner: OWNER }),
        effects: {
          enqueue: roleEffectSink({
            owner: OWNER,
            queues,
            policyOf: () => policy,
            limits: undefined,
            logger,
            onEnqueued: (job) => enqueued.push(job),
          }),
        },
        logger,
        retryMs: 20,
      });
      closers.push(() => host.stopAll());
      // Results come back to the actor as in a role (a ticket's result changes nothing).
      const consumer = startControlConsumer({
        redis: reader,
        keyPrefix: scratch.prefix,
        owner: OWNER,
        logger,
        blockMs: 100,
        handle: async (message) => {
          const translated = toMachineEvent(message, clock.now());
          if ('event' in translated) await host.send(message.actorKey, translated.event);
        },
      });
      closers.push(() => consumer.stop());

      host.spawn(KEY, toMachinePolicy(policy), 'shop/cart');
      await host.send(KEY, observed(true, clock.now()));
      expect(host.snapshot(KEY)?.value).toMatchObject({ escalated: {} });
      await eventually(() => expect(t.state()).toEqual({ open: true, comments: [] }), 15_000);

      // The pod recovers and stays healthy for the verification window. Closing fails once:
      // the job runs again, and the retry neither comments twice nor leaves the ticket open.
      t.failClosingOnce();
      clock.increment(MINUTE);
      await host.send(KEY, observed(false, clock.now()));
      clock.increment(5 * MINUTE);
      await host.flushAll();
      expect(host.snapshot(KEY)?.value).toBe('coolingDown');
      await eventually(() => expect(t.state()?.open).toBe(false), 15_000);
      expect(t.closings()).toBe(2);
      const comments = t.state()?.comments ?? [];
      expect(comments).toHaveLength(1);
      // "Resolved:" in bold, in Atlassian Document Format or Markdown.
      expect(comments[0]?.replaceAll('**', '')).toContain(
        'Resolved: container "app" is in CrashLoopBackOff: back-off 40s restarting failed container=app (restarts: 4) is gone',
      );
      // The policy names no Slack channel: no resolved notice is enqueued, the ticket says it.
      expect(enqueued.map((j) => [j.step, j.effect.kind, j.effect['resolve'] ?? null])).toEqual([
        ['escalate-1-level-1-0', 'openTicket', null],
        ['resolved-ticket', 'updateTicket', true],
      ]);

      // The same update again (a redelivered request, a lapsed lock): nothing more happens.
      const update = enqueued.find((j) => j.effect.kind === 'updateTicket') as EffectJob;
      const jobId = effectJobId(update);
      await queues.enqueue(update);
      const again = await processors.updateTicket(update, {
        jobId,
        signal: new AbortController().signal,
        logger,
        attempt: 2,
      });
      expect(again).toMatchObject({ ticket: null, commented: false, resolved: false });
      expect(t.state()?.comments).toHaveLength(1);
      expect(t.closings()).toBe(2);
    },
  );
});
