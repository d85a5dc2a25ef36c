import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotStore } from '../../../src/actors/snapshot-store.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

describe('actor snapshots in Redis', () => {
  let scratch: RedisForTest | undefined;
  afterEach(async () => {
    await scratch?.cleanup();
    scratch = undefined;
  });

  async function store(owner = 'agent-node-1'): Promise<SnapshotStore> {
    scratch ??= await redisForTest();
    return new SnapshotStore({ redis: scratch.redis, keyPrefix: scratch.prefix, owner });
  }

  it('restores what was saved, per owner', async () => {
    const agentA = await store('agent-a');
    const agentB = await store('agent-b');
    await agentA.save(
      'Pod/shop/cart',
      'pod@1',
      { value: 'coolingDown', context: { until: 42 } },
      1000,
    );
    await agentB.save('Pod/shop/api', 'pod@1', { value: 'healthy' }, 1000);

    const loaded = await (await store('agent-a')).load(new Set(['pod@1']));
    expect([...loaded.snapshots.keys()]).toEqual(['Pod/shop/cart']);
    expect(loaded.snapshots.get('Pod/shop/cart')).toEqual({
      machine: 'pod@1',
      snapshot: { value: 'coolingDown', context: { until: 42 } },
      savedAt: 1000,
    });
  });

  it('coalesces saves in one turn into one write of the latest snapshot', async () => {
    const s = await store();
    const saves = [1, 2, 3].map((n) => s.save('Pod/shop/cart', 'pod@1', { n }));
    saves.push(s.save('Pod/shop/api', 'pod@1', { n: 9 }));
    await Promise.all(saves);
    expect(s.writes).toBe(2);
    const loaded = await s.load(new Set(['pod@1']));
    expect(loaded.snapshots.get('Pod/shop/cart')?.snapshot).toEqual({ n: 3 });
  });

  it('forgets a removed actor', async () => {
    const s = await store();
    await s.save('Pod/shop/cart', 'pod@1', {});
    await s.remove('Pod/shop/cart');
    expect((await s.load(new Set(['pod@1']))).snapshots.size).toBe(0);
    expect(await scratch?.redis.exists(s.key)).toBe(0);
  });

  it('drops snapshots of another machine version, saying why, and deletes them', async () => {
    const s = await store();
    await s.save('Pod/shop/old', 'pod@1', {});
    await s.save('Pod/shop/new', 'pod@2', {});
    await scratch?.redis.hset(s.key, 'Pod/shop/garbled', '{not json');
    const loaded = await s.load(new Set(['pod@2']));
    expect([...loaded.snapshots.keys()]).toEqual(['Pod/shop/new']);
    expect(loaded.dropped).toEqual(
      expect.arrayContaining([
        {
          key: 'Pod/shop/old',
          reason: 'written by machine pod@1, which this version does not run',
        },
        { key: 'Pod/shop/garbled', reason: 'unreadable record' },
      ]),
    );
    expect(await scratch?.redis.hkeys(s.key)).toEqual(['Pod/shop/new']);
  });

  it('rejects the saves of a batch Redis refused, so the caller does not enqueue effects', async () => {
    const s = await store();
    await scratch?.redis.set(s.key, 'not a hash');
    await expect(s.save('Pod/shop/cart', 'pod@1', {})).rejects.toThrow(
      /could not persist 1 actor snapshot/,
    );
  });
});
