import { describe, expect, it } from 'vitest';
import type { Detection } from '../../../src/analyzers/types.ts';
import {
  adopt,
  claim,
  commandRoute,
  CREATION_SLACK_MS,
  EMPTY_MEMORY,
  expire,
  unverifiedAt,
  parseMemory,
  release,
  REMEDIATION_MEMORY,
  report,
  type ClaimRequest,
  type WorkloadIncident,
  type WorkloadMemory,
  type WorkloadReport,
} from '../../../src/workloads/rules.ts';

const MINUTE = 60_000;
const crashLoop: Detection = {
  type: 'CrashLoopBackOff',
  reason: 'container app is in CrashLoopBackOff (back-off 40s restarting failed container)',
};

/** The claim pod `pod` of the workload makes when it confirms the crash loop at `now`. */
function request(pod: string, now: number, more: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    actorKey: `Pod/shop/${pod}`,
    incidentId: `Pod/shop/${pod}#1@${now}`,
    trigger: crashLoop,
    verificationWindowMs: 5 * MINUTE,
    now,
    ...more,
  };
}

/** An incident of the workload as its holder would have reported it. */
function incident(more: Partial<WorkloadIncident> = {}): WorkloadIncident {
  return {
    id: 'Pod/shop/web-a#1@0',
    openedAt: 0,
    holder: 'Pod/shop/web-a',
    holderOwner: null,
    phase: 'deciding',
    attempts: 0,
    actedAt: null,
    replacesPod: false,
    verifyUntil: null,
    verificationWindowMs: 5 * MINUTE,
    announced: false,
    trigger: crashLoop,
    ...more,
  };
}

function memory(more: Partial<WorkloadMemory> = {}): WorkloadMemory {
  return { ...EMPTY_MEMORY, ...more };
}

/** What the holder's actor says, with the incident as it stands (minus the holder). */
function reportOf(holder: string, more: Partial<WorkloadReport> = {}): WorkloadReport {
  return {
    holder,
    incident: null,
    remediations: [],
    quietUntil: null,
    quarantinedUntil: null,
    ...more,
  };
}

function withoutHolder(i: WorkloadIncident): WorkloadReport['incident'] {
  const { holder: _holder, holderOwner: _owner, ...rest } = i;
  return rest;
}

describe('claim: who decides the workload incident', () => {
  it('makes the first pod to claim the lead of a new incident under its own id', () => {
    const { memory: after, answer } = claim(EMPTY_MEMORY, request('web-a', 1_000));
    expect(answer).toEqual({ role: 'lead', continues: null, remediations: [], ticket: false });
    expect(after.incident).toEqual({
      id: 'Pod/shop/web-a#1@1000',
      openedAt: 1_000,
      holder: 'Pod/shop/web-a',
      holderOwner: null,
      phase: 'deciding',
      attempts: 0,
      actedAt: null,
      replacesPod: false,
      verifyUntil: null,
      verificationWindowMs: 5 * MINUTE,
      announced: false,
      trigger: crashLoop,
    });
  });

  it('makes a second pod of the workload a member of the incident, naming its holder', () => {
    const first = claim(EMPTY_MEMORY, request('web-a', 1_000)).memory;
    const { memory: after, answer } = claim(first, request('web-b', 2_000));
    expect(answer.role).toBe('member');
    if (answer.role !== 'member') return;
    expect(answer.incident.holder).toBe('Pod/shop/web-a');
    expect(answer.incident.id).toBe('Pod/shop/web-a#1@1000');
    // The member's own incident id is not taken: one incident, one thread, one ticket.
    expect(after).toEqual(first);
  });

  it("hands every pod the workload's remediations, whatever its role", () => {
    const remediations = [10_000, 20_000];
    const held = memory({ remediations, incident: incident() });
    expect(claim(held, request('web-b', 30_000)).answer.remediations).toEqual(remediations);
    expect(claim(memory({ remediations }), request('web-b', 30_000)).answer).toEqual({
      role: 'lead',
      continues: null,
      remediations,
      ticket: false,
    });
  });

  it('tells the lead that the symptom has an open ticket, whichever pod opened it', () => {
    const ticketed = memory({ ticket: true });
    expect(claim(ticketed, request('web-b', 1_000)).answer).toMatchObject({
      role: 'lead',
      continues: null,
      ticket: true,
    });
    const open = memory({ ticket: true, incident: incident({ holder: null }) });
    expect(claim(open, request('web-b', 1_000)).answer).toMatchObject({
      role: 'lead',
      continues: { id: 'Pod/shop/web-a#1@0' },
      ticket: true,
    });
  });

  it("remembers whose control stream reaches the lead, so people's commands find it", () => {
    const asked = request('web-a', 1_000, { owner: 'agent-node-1' });
    const first = claim(EMPTY_MEMORY, asked).memory;
    expect(first.incident).toMatchObject({ holder: 'Pod/shop/web-a', holderOwner: 'agent-node-1' });
    const released = release(first, 'Pod/shop/web-a', 2_000);
    expect(released.incident).toMatchObject({ holder: null, holderOwner: null });
    const continued = claim(released, request('web-b', 3_000, { owner: 'agent-node-2' }));
    expect(continued.memory.incident).toMatchObject({
      holder: 'Pod/shop/web-b',
      holderOwner: 'agent-node-2',
    });
  });

  it('answers the holder claiming again as the lead of the same incident', () => {
    const first = claim(EMPTY_MEMORY, request('web-a', 1_000)).memory;
    const again = claim(first, request('web-a', 5_000, { incidentId: 'Pod/shop/web-a#2@5000' }));
    expect(again.answer.role).toBe('lead');
    expect(again.memory).toEqual(first);
  });

  it('holds a claim off while the workload is quarantined, until the quarantine ends', () => {
    const quarantined = memory({ quarantinedUntil: 60 * MINUTE, remediations: [1, 2, 3] });
    const { memory: after, answer } = claim(quarantined, request('web-a', 10 * MINUTE));
    expect(answer).toEqual({
      role: 'held',
      why: 'quarantined',
      until: 60 * MINUTE,
      remediations: [1, 2, 3],
    });
    expect(after).toEqual(quarantined);
    expect(claim(quarantined, request('web-a', 60 * MINUTE)).answer.role).toBe('lead');
  });

  it('holds a claim off while the workload cools down after its last incident', () => {
    const cooling = memory({ quietUntil: 15 * MINUTE });
    const { memory: after, answer } = claim(cooling, request('web-c', 14 * MINUTE));
    expect(answer).toEqual({
      role: 'held',
      why: 'coolingDown',
      until: 15 * MINUTE,
      remediations: [],
    });
    expect(after.incident).toBeNull();
    expect(claim(cooling, request('web-c', 15 * MINUTE)).answer.role).toBe('lead');
  });

  it('says quarantined rather than cooling down when both hold', () => {
    const both = memory({ quietUntil: 90 * MINUTE, quarantinedUntil: 30 * MINUTE });
    expect(claim(both, request('web-a', MINUTE)).answer).toMatchObject({
      role: 'held',
      why: 'quarantined',
      until: 30 * MINUTE,
    });
  });

  it('lets a pod continue an open incident nobody holds, keeping its id and ladder position', () => {
    const open = incident({
      holder: null,
      phase: 'verifying',
      attempts: 2,
      actedAt: 4 * MINUTE,
      replacesPod: true,
      verifyUntil: 9 * MINUTE,
      announced: true,
    });
    const { memory: after, answer } = claim(
      memory({ incident: open, remediations: [MINUTE, 4 * MINUTE] }),
      request('web-x', 6 * MINUTE),
    );
    expect(answer).toEqual({
      role: 'lead',
      continues: { ...open, holder: 'Pod/shop/web-x' },
      remediations: [MINUTE, 4 * MINUTE],
      ticket: false,
    });
    expect(after.incident).toEqual({ ...open, holder: 'Pod/shop/web-x' });
    // The next pod joins it.
    const next = claim(after, request('web-y', 7 * MINUTE)).answer;
    expect(next).toMatchObject({ role: 'member', incident: { holder: 'Pod/shop/web-x' } });
  });

  describe('while a pod verifies the latest remediation', () => {
    const verifying = memory({
      incident: incident({
        holder: 'Pod/shop/web-r',
        holderOwner: 'agent-node-2',
        phase: 'verifying',
        attempts: 1,
        actedAt: 4 * MINUTE,
        replacesPod: true,
        verifyUntil: 9 * MINUTE,
        announced: true,
      }),
      remediations: [4 * MINUTE],
      ticket: true,
    });

    it('hands the incident to a pod made since that shows the symptom: the remediation did not hold', () => {
      const { memory: after, answer } = claim(
        verifying,
        request('web-n', 6 * MINUTE, { createdAt: 4 * MINUTE + 2_000, owner: 'agent-node-3' }),
      );
      const taken = {
        ...verifying.incident,
        holder: 'Pod/shop/web-n',
        holderOwner: 'agent-node-3',
        phase: 'deciding',
        verifyUntil: null,
      };
      expect(answer).toEqual({
        role: 'lead',
        continues: taken,
        remediations: [4 * MINUTE],
        ticket: true,
        displaced: 'Pod/shop/web-r',
      });
      expect(after.incident).toEqual(taken);
    });

    it('allows for creation times in whole seconds', () => {
      const edge = 4 * MINUTE - CREATION_SLACK_MS;
      expect(
        claim(verifying, request('web-n', 6 * MINUTE, { createdAt: edge })).answer,
      ).toMatchObject({ role: 'lead', displaced: 'Pod/shop/web-r' });
    });

    it.each([
      ['was made before the remediation (it never touched it)', { createdAt: 3 * MINUTE }, 6],
      ['does not say when it was made', {}, 6],
      [
        'claims after the verification ended (its holder resolves it)',
        { createdAt: 5 * MINUTE },
        9,
      ],
    ])('only joins it when the claimant %s', (_why, more, minutes) => {
      const { memory: after, answer } = claim(verifying, request('web-n', minutes * MINUTE, more));
      expect(answer).toMatchObject({ role: 'member', incident: { holder: 'Pod/shop/web-r' } });
      expect(after).toBe(verifying);
    });

    it('only joins an incident still being decided or acted on', () => {
      const acting = memory({ incident: incident({ phase: 'remediating', actedAt: 4 * MINUTE }) });
      const { answer } = claim(acting, request('web-n', 5 * MINUTE, { createdAt: 5 * MINUTE }));
      expect(answer.role).toBe('member');
    });
  });

  it('does not change the memory it was given', () => {
    const before = memory({ incident: incident({ holder: null }) });
    const copy = structuredClone(before);
    claim(before, request('web-b', 1));
    claim(EMPTY_MEMORY, request('web-b', 1));
    expect(before).toEqual(copy);
    expect(EMPTY_MEMORY).toEqual({
      incident: null,
      remediations: [],
      quietUntil: null,
      quarantinedUntil: null,
      ticket: false,
    });
  });
});

describe('report: what the holder says after its transitions', () => {
  const held = memory({ incident: incident() });

  it("writes the holder's incident as it stands, keeping it as holder", () => {
    const now = incident({ phase: 'remediating', attempts: 1, actedAt: 3_000, replacesPod: true });
    const after = report(held, reportOf('Pod/shop/web-a', { incident: withoutHolder(now) }));
    expect(after.incident).toEqual(now);
  });

  it('ends the incident when the holder has none any more, keeping its cooldown', () => {
    const after = report(
      held,
      reportOf('Pod/shop/web-a', { quietUntil: 20 * MINUTE, remediations: [3_000] }),
    );
    expect(after).toEqual({
      incident: null,
      remediations: [3_000],
      quietUntil: 20 * MINUTE,
      quarantinedUntil: null,
      ticket: false,
    });
    expect(claim(after, request('web-b', 10 * MINUTE)).answer).toMatchObject({
      role: 'held',
      why: 'coolingDown',
    });
  });

  it('ends the incident when the holder reports another one, without opening that one', () => {
    const other = withoutHolder(incident({ id: 'Pod/shop/web-a#2@9000', openedAt: 9_000 }));
    expect(report(held, reportOf('Pod/shop/web-a', { incident: other })).incident).toBeNull();
  });

  it('lets a pod that no longer holds the incident not bring it back', () => {
    const released = release(
      memory({ incident: incident({ phase: 'remediating', actedAt: 1_000, replacesPod: true }) }),
      'Pod/shop/web-a',
      2_000,
    );
    const stale = withoutHolder(incident({ phase: 'remediating', attempts: 1, actedAt: 1_000 }));
    const after = report(released, reportOf('Pod/shop/web-a', { incident: stale }));
    expect(after.incident).toEqual(released.incident);
    // Nor end it: its incident moved on without it.
    expect(report(released, reportOf('Pod/shop/web-a')).incident).toEqual(released.incident);
    // Nor take the incident of the pod that holds it now.
    const taken = claim(released, request('web-b', 3_000)).memory;
    expect(report(taken, reportOf('Pod/shop/web-a')).incident?.holder).toBe('Pod/shop/web-b');
  });

  it('cannot reopen an incident that ended', () => {
    const after = report(
      memory({ quietUntil: 10 * MINUTE }),
      reportOf('Pod/shop/web-a', { incident: withoutHolder(incident()) }),
    );
    expect(after.incident).toBeNull();
  });

  it("still merges a non-holder's remediations and deadlines: union, and the later deadline", () => {
    const before = memory({
      incident: incident({ holder: 'Pod/shop/web-b' }),
      remediations: [1_000, 5_000],
      quietUntil: 30 * MINUTE,
      quarantinedUntil: null,
    });
    const after = report(
      before,
      reportOf('Pod/shop/web-a', {
        incident: withoutHolder(incident()),
        remediations: [5_000, 3_000, 7_000],
        quietUntil: 20 * MINUTE,
        quarantinedUntil: 60 * MINUTE,
      }),
    );
    expect(after).toEqual({
      incident: before.incident,
      remediations: [1_000, 3_000, 5_000, 7_000],
      quietUntil: 30 * MINUTE,
      quarantinedUntil: 60 * MINUTE,
      ticket: false,
    });
  });

  it("keeps the holder's owner, and takes a new one when the holder says it", () => {
    const owned = memory({ incident: incident({ holderOwner: 'agent-node-1' }) });
    const same = report(owned, reportOf('Pod/shop/web-a', { incident: withoutHolder(incident()) }));
    expect(same.incident?.holderOwner).toBe('agent-node-1');
    const moved = report(
      owned,
      reportOf('Pod/shop/web-a', { owner: 'agent', incident: withoutHolder(incident()) }),
    );
    expect(moved.incident?.holderOwner).toBe('agent');
  });

  it.each([
    ['asked for one (a quarantine or a rung of the ladder)', false, true, true],
    ['resolved it, as its incident ends', true, false, false],
    ['says nothing of it', true, undefined, true],
  ])("takes the holder's word on the symptom's ticket when it %s", (_what, was, says, is) => {
    const before = memory({ incident: incident(), ticket: was });
    const ending = says === false;
    const update = reportOf('Pod/shop/web-a', {
      ...(ending ? {} : { incident: withoutHolder(incident()) }),
      ...(says === undefined ? {} : { ticket: says }),
    });
    expect(report(before, update).ticket).toBe(is);
  });

  it('never lets a pod that does not hold the incident open or forget its ticket', () => {
    const heldByB = memory({ incident: incident({ holder: 'Pod/shop/web-b' }), ticket: true });
    expect(report(heldByB, reportOf('Pod/shop/web-a', { ticket: false })).ticket).toBe(true);
    const ended = memory({ ticket: false });
    // A pod that led an earlier incident still remembers the ticket another pod resolved since.
    expect(report(ended, reportOf('Pod/shop/web-a', { ticket: true })).ticket).toBe(false);
  });

  it('never shortens or forgets a deadline', () => {
    const before = memory({ quietUntil: 30 * MINUTE, quarantinedUntil: 60 * MINUTE });
    expect(report(before, reportOf('Pod/shop/web-a'))).toEqual(before);
    const earlier = reportOf('Pod/shop/web-a', { quietUntil: MINUTE, quarantinedUntil: MINUTE });
    expect(report(before, earlier)).toEqual(before);
  });

  it(`keeps only the newest ${REMEDIATION_MEMORY} remediations`, () => {
    const old = Array.from({ length: REMEDIATION_MEMORY }, (_, i) => i * 1_000);
    const newer = Array.from({ length: 10 }, (_, i) => 1_000_000 + i);
    const after = report(memory({ remediations: old }), reportOf('x', { remediations: newer }));
    expect(after.remediations).toHaveLength(REMEDIATION_MEMORY);
    expect(after.remediations).toEqual([...old.slice(10), ...newer]);
  });
});

describe("release: the holder's pod goes away", () => {
  it('starts the verification of a pod-replacing remediation, at the deletion', () => {
    const restarting = incident({
      phase: 'remediating',
      attempts: 1,
      actedAt: 60_000,
      replacesPod: true,
      verificationWindowMs: 5 * MINUTE,
    });
    const after = release(memory({ incident: restarting }), 'Pod/shop/web-a', 65_000);
    expect(after.incident).toEqual({
      ...restarting,
      holder: null,
      lastHolder: 'Pod/shop/web-a',
      phase: 'verifying',
      verifyUntil: 65_000 + 5 * MINUTE,
    });
  });

  it('leaves a remediation that does not replace the pod waiting for another pod', () => {
    const rollingBack = incident({ phase: 'remediating', actedAt: 60_000, replacesPod: false });
    const after = release(memory({ incident: rollingBack }), 'Pod/shop/web-a', 65_000);
    expect(after.incident).toEqual({ ...rollingBack, holder: null, lastHolder: 'Pod/shop/web-a' });
  });

  it('leaves an undecided incident undecided, for the next pod that claims it', () => {
    const after = release(memory({ incident: incident() }), 'Pod/shop/web-a', 1_000);
    expect(after.incident).toEqual(incident({ holder: null, lastHolder: 'Pod/shop/web-a' }));
    expect(claim(after, request('web-b', 2_000)).answer).toMatchObject({
      role: 'lead',
      continues: { id: 'Pod/shop/web-a#1@0', holder: 'Pod/shop/web-b' },
    });
  });

  it("keeps a verification's deadline when the pod verifying it goes away", () => {
    const verifying = incident({
      phase: 'verifying',
      actedAt: 0,
      replacesPod: true,
      verifyUntil: 9,
    });
    const after = release(memory({ incident: verifying }), 'Pod/shop/web-a', 5);
    expect(after.incident).toEqual({ ...verifying, holder: null, lastHolder: 'Pod/shop/web-a' });
  });

  it('changes nothing for a pod that does not hold the incident', () => {
    const before = memory({ incident: incident({ phase: 'remediating', replacesPod: true }) });
    expect(release(before, 'Pod/shop/web-b', 1_000)).toBe(before);
    expect(release(EMPTY_MEMORY, 'Pod/shop/web-a', 1_000)).toBe(EMPTY_MEMORY);
  });
});

describe('adopt: a replacement takes over the verification', () => {
  const actedAt = 100_000;
  const verifying = memory({
    incident: incident({
      holder: null,
      phase: 'verifying',
      attempts: 1,
      actedAt,
      replacesPod: true,
      verifyUntil: actedAt + 5 * MINUTE,
    }),
    remediations: [actedAt],
  });

  it('hands it to a pod created after the remediation, with its absolute deadline', () => {
    const { memory: after, adopted } = adopt(
      verifying,
      'Pod/shop/web-new',
      actedAt + 2_000,
      'agent-node-2',
    );
    expect(adopted).toEqual({
      ...verifying.incident,
      holder: 'Pod/shop/web-new',
      holderOwner: 'agent-node-2',
    });
    expect(adopted?.verifyUntil).toBe(actedAt + 5 * MINUTE);
    expect(after).toEqual({ ...verifying, incident: adopted });
  });

  it('allows for creation times in whole seconds, and no earlier', () => {
    const edge = actedAt - CREATION_SLACK_MS;
    expect(adopt(verifying, 'Pod/shop/web-new', edge).adopted?.holder).toBe('Pod/shop/web-new');
    const older = adopt(verifying, 'Pod/shop/web-old', edge - 1);
    expect(older.adopted).toBeNull();
    expect(older.memory).toBe(verifying);
  });

  it('gives it to one replacement only', () => {
    const first = adopt(verifying, 'Pod/shop/web-new-1', actedAt + 1_000).memory;
    const second = adopt(first, 'Pod/shop/web-new-2', actedAt + 1_000);
    expect(second.adopted).toBeNull();
    expect(second.memory.incident?.holder).toBe('Pod/shop/web-new-1');
  });

  it.each([
    ['no incident', EMPTY_MEMORY],
    [
      'an incident a pod still holds',
      memory({ incident: { ...verifying.incident!, holder: 'p' } }),
    ],
    [
      'an incident not verifying',
      memory({ incident: { ...verifying.incident!, phase: 'remediating' } }),
    ],
    [
      'an incident with no remediation yet',
      memory({ incident: { ...verifying.incident!, actedAt: null } }),
    ],
  ])('leaves %s alone', (_name, before) => {
    const { memory: after, adopted } = adopt(before, 'Pod/shop/web-new', actedAt + 1_000);
    expect(adopted).toBeNull();
    expect(after).toBe(before);
  });
});

describe('expire: a verification nobody is left to decide', () => {
  const verifyUntil = 10 * MINUTE;
  const floor = 2 * MINUTE;
  const orphan = memory({
    incident: incident({
      holder: null,
      phase: 'verifying',
      actedAt: 0,
      replacesPod: true,
      verifyUntil,
      verificationWindowMs: 5 * MINUTE,
    }),
    remediations: [0],
    quietUntil: 5 * MINUTE,
    ticket: true,
  });

  it('ends it unverified a verification window after its end, keeping the rest', () => {
    const at = verifyUntil + 5 * MINUTE;
    expect(unverifiedAt(orphan.incident!, floor)).toBe(at);
    expect(expire(orphan, at - 1, floor)).toEqual({ memory: orphan, expired: null });
    const { memory: after, expired } = expire(orphan, at, floor);
    expect(expired).toEqual(orphan.incident);
    // The remediation still counts, the cooldown holds and the ticket stays open.
    expect(after).toEqual({ ...orphan, incident: null });
  });

  it('waits at least the floor after a short window (agents look for replacements on an interval)', () => {
    const short = { ...orphan.incident!, verificationWindowMs: 30_000 };
    expect(unverifiedAt(short, floor)).toBe(verifyUntil + floor);
    expect(
      expire({ ...orphan, incident: short }, verifyUntil + floor - 1, floor).expired,
    ).toBeNull();
    expect(expire({ ...orphan, incident: short }, verifyUntil + floor, floor).expired).toEqual(
      short,
    );
  });

  it.each([
    ['a pod holds it', { holder: 'Pod/shop/web-a' }],
    ['it is not verifying', { phase: 'remediating' as const }],
    ['it has no deadline', { verifyUntil: null }],
  ])('leaves it while %s', (_name, change) => {
    const before = memory({ ...orphan, incident: { ...orphan.incident!, ...change } });
    expect(expire(before, 100 * MINUTE, floor)).toEqual({ memory: before, expired: null });
  });

  it('has nothing to end in an empty memory', () => {
    expect(expire(EMPTY_MEMORY, 100 * MINUTE, floor)).toEqual({
      memory: EMPTY_MEMORY,
      expired: null,
    });
  });
});

describe('parseMemory', () => {
  it.each([
    ['nothing stored', null],
    ['undefined', undefined],
    ['an empty string', ''],
    ['text that is not JSON', 'not json'],
    ['truncated JSON', '{"incident":{"id":"x"'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON string', '"memory"'],
    ['a JSON array', '[1,2,3]'],
    ['an empty object', '{}'],
  ])('reads %s as no memory', (_name, text) => {
    expect(parseMemory(text)).toEqual(EMPTY_MEMORY);
  });

  it('reads back what was written', () => {
    const written = memory({
      incident: incident({ phase: 'verifying', attempts: 2, actedAt: 5, verifyUntil: 9 }),
      remediations: [1, 5],
      quietUntil: 20,
      quarantinedUntil: 30,
    });
    expect(parseMemory(JSON.stringify(written))).toEqual(written);
  });

  it.each([
    ['an incident that is not an object', { incident: 'web-a' }],
    ['an incident with no id', { incident: { ...incident(), id: undefined } }],
    ['an incident whose holder is not a pod', { incident: { ...incident(), holder: 7 } }],
    ['an incident in no known phase', { incident: { ...incident(), phase: 'resting' } }],
    ['an incident with no ladder position', { incident: { ...incident(), attempts: '2' } }],
    ['remediations that are not a list', { remediations: '1,2' }],
    ['deadlines that are not times', { quietUntil: 'soon', quarantinedUntil: true }],
  ])('reads %s as not remembered', (_name, stored) => {
    expect(parseMemory(JSON.stringify(stored))).toEqual(EMPTY_MEMORY);
  });

  it("keeps the incident's policy and last holder when they are names, and drops them otherwise", () => {
    const named = incident({
      holder: null,
      policy: 'shop/crash-loops',
      lastHolder: 'Pod/shop/web-a',
    });
    expect(parseMemory(JSON.stringify(memory({ incident: named }))).incident).toEqual(named);
    const odd = { incident: { ...incident(), policy: 7, lastHolder: ['Pod/shop/web-a'] } };
    expect(parseMemory(JSON.stringify(odd)).incident).toEqual(incident());
  });

  it('keeps the readable parts of a memory with unreadable ones', () => {
    const stored = { incident: incident(), remediations: [3, 'x', null, 1], quietUntil: 'later' };
    expect(parseMemory(JSON.stringify(stored))).toEqual(
      memory({ incident: incident(), remediations: [1, 3] }),
    );
  });

  it('never makes pods wait on an incident that cannot be read', () => {
    // Written by something else under the same key: no pod of the workload would ever decide.
    const { answer } = claim(parseMemory('{"incident":{"phase":"deciding"}}'), request('web-a', 1));
    expect(answer).toEqual({ role: 'lead', continues: null, remediations: [], ticket: false });
  });

  it('reads an incident written before the holder’s owner was kept as one whose owner is unknown', () => {
    const { holderOwner: _owner, ...older } = incident({ holderOwner: 'agent-node-1' });
    expect(parseMemory(JSON.stringify({ incident: older, ticket: true }))).toEqual(
      memory({ incident: incident({ holderOwner: null }), ticket: true }),
    );
  });

  it('fills in what an older writer left out', () => {
    expect(parseMemory(JSON.stringify({ remediations: [7] }))).toEqual(
      memory({ remediations: [7] }),
    );
  });
});

describe('one incident through a workload', () => {
  it('goes from the first pod to its replacement, which verifies the restart', () => {
    const a = 'Pod/shop/web-a';
    // web-a confirms the crash loop first; web-b joins it.
    let m = claim(EMPTY_MEMORY, request('web-a', 0)).memory;
    expect(claim(m, request('web-b', 1_000)).answer.role).toBe('member');
    // web-a restarts its pod (a deletion), at 10 s.
    const restarting = incident({
      id: 'Pod/shop/web-a#1@0',
      phase: 'remediating',
      attempts: 1,
      actedAt: 10_000,
      replacesPod: true,
    });
    m = report(m, reportOf(a, { incident: withoutHolder(restarting), remediations: [10_000] }));
    // The pod is deleted at 11 s: the verification starts.
    m = release(m, a, 11_000);
    expect(m.incident).toMatchObject({ holder: null, phase: 'verifying', verifyUntil: 311_000 });
    // web-a's last word, as its pod goes, changes nothing.
    m = report(m, reportOf(a, { incident: withoutHolder(restarting), remediations: [10_000] }));
    expect(m.incident?.holder).toBeNull();
    // Its replacement, created at 12 s, takes the verification over.
    const adopted = adopt(m, 'Pod/shop/web-a2', 12_000);
    expect(adopted.adopted).toMatchObject({ id: 'Pod/shop/web-a#1@0', attempts: 1 });
    m = adopted.memory;
    expect(expire(m, 10 * 311_000, 0).expired).toBeNull();
    // The verification holds: the replacement ends the incident and the cooldown starts.
    m = report(m, reportOf('Pod/shop/web-a2', { remediations: [10_000], quietUntil: 611_000 }));
    expect(m).toEqual({
      incident: null,
      remediations: [10_000],
      quietUntil: 611_000,
      quarantinedUntil: null,
      ticket: false,
    });
    expect(claim(m, request('web-b', 400_000)).answer).toMatchObject({
      role: 'held',
      why: 'coolingDown',
      until: 611_000,
    });
  });
});

describe("commandRoute: where a person's command for a workload incident goes", () => {
  const id = 'Pod/shop/web-a#1@0';
  const addressed = { actorKey: 'Pod/shop/web-a', owner: 'agent-node-1' };
  const open = (more: Partial<WorkloadIncident>) => ({
    CrashLoopBackOff: memory({ incident: incident({ id, ...more }) }),
  });

  it.each([
    [
      'to the pod it was sent for while that pod holds it',
      open({ holderOwner: 'agent-node-1' }),
      { route: 'holder', actorKey: 'Pod/shop/web-a', owner: 'agent-node-1' },
    ],
    [
      'to the replacement that took the verification over, on its node',
      open({ holder: 'Pod/shop/web-a2', holderOwner: 'agent-node-2', phase: 'verifying' }),
      { route: 'holder', actorKey: 'Pod/shop/web-a2', owner: 'agent-node-2' },
    ],
    [
      'to the addressed pod when the memory predates owners and names it',
      open({ holderOwner: null }),
      { route: 'holder', actorKey: 'Pod/shop/web-a', owner: 'agent-node-1' },
    ],
    [
      'nowhere known when another pod holds it and its owner is not kept',
      open({ holder: 'Pod/shop/web-b', holderOwner: null }),
      { route: 'holderUnknown', actorKey: 'Pod/shop/web-b' },
    ],
    [
      'nowhere while its pod went away and nobody took it over',
      open({ holder: null, holderOwner: null, phase: 'verifying' }),
      { route: 'betweenPods', phase: 'verifying' },
    ],
    [
      'nowhere once the incident ended',
      { CrashLoopBackOff: memory({ quietUntil: 5 }) },
      { route: 'notOpen' },
    ],
    [
      'nowhere when the workload’s open incident is another one',
      { OOMKilled: memory({ incident: incident({ id: 'Pod/shop/web-b#4@9' }) }) },
      { route: 'notOpen' },
    ],
    ['nowhere when the workload remembers nothing', {}, { route: 'notOpen' }],
  ])('sends it %s', (_what, symptoms, route) => {
    expect(commandRoute(symptoms, id, addressed)).toEqual(route);
  });
});

describe('the ticket of a workload’s symptom', () => {
  it('is opened by one pod and closed by another that resolves the symptom later', () => {
    // web-a leads, is quarantined and asks for a ticket; the quarantine is lifted with the
    // ticket still open (its incident ends, the ticket stays).
    let m = claim(EMPTY_MEMORY, request('web-a', 0)).memory;
    const quarantined = withoutHolder(incident({ phase: 'quarantined', announced: true }));
    m = report(m, reportOf('Pod/shop/web-a', { incident: quarantined, ticket: true }));
    m = report(m, reportOf('Pod/shop/web-a', { ticket: true }));
    expect(m).toMatchObject({ incident: null, ticket: true });
    // web-b confirms the crash loop later, leads a new incident, and learns of the ticket.
    const led = claim(m, request('web-b', 90 * MINUTE));
    expect(led.answer).toMatchObject({ role: 'lead', continues: null, ticket: true });
    m = led.memory;
    // web-b's remediation holds: its resolution closes the ticket, and says so.
    m = report(m, reportOf('Pod/shop/web-b', { quietUntil: 100 * MINUTE, ticket: false }));
    expect(m).toMatchObject({ incident: null, ticket: false });
    expect(claim(m, request('web-c', 101 * MINUTE)).answer).toMatchObject({ ticket: false });
  });
});
