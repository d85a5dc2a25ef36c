import { SimulatedClock } from 'xstate';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorHost } from '../../../src/actors/host.ts';
import { SnapshotStore } from '../../../src/actors/snapshot-store.ts';
import { analyze } from '../../../src/analyzers/index.ts';
import { defaultMachinePolicy } from '../../../src/machines/index.ts';
import { observe, type PodObject } from '../../../src/observe/index.ts';
import { startInspector, type RunningInspector } from '../../../src/telemetry/inspect.ts';
import { captureLogger, eventually } from '../../support/logger.ts';
import { podObject } from '../../support/pods.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';

const SECRET = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

describe('live actors in the Stately inspector', () => {
  let scratch: RedisForTest | undefined;
  let inspector: RunningInspector | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate();
    await inspector?.stop();
    await scratch?.cleanup();
    scratch = undefined;
  });

  it("sends the matching actors' messages over the websocket, redacted", async () => {
    scratch = await redisForTest();
    inspector = await startInspector({
      port: 0,
      filter: 'Pod/shop/*',
      logger: captureLogger().logger,
    });
    expect(inspector.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const received: string[] = [];
    const viewer = new WebSocket(inspector.url);
    sockets.push(viewer);
    viewer.on('message', (data: Buffer) => received.push(data.toString()));
    await new Promise((resolve) => viewer.once('open', resolve));

    const clock = new SimulatedClock();
    clock.set(Date.parse('2026-11-28T10:00:00Z'));
    const host = new ActorHost({
      clock,
      store: new SnapshotStore({
        redis: scratch.redis,
        keyPrefix: scratch.prefix,
        owner: 'agent-n1',
      }),
      effects: { enqueue: () => Promise.resolve() },
      logger: captureLogger().logger,
      inspect: inspector.observerFor,
    });
    const pod = podObject({ restarts: 2, crashLooping: true }) as {
      status: { containerStatuses: { state: { waiting: { message: string } } }[] };
    };
    const status = pod.status.containerStatuses[0];
    if (status) status.state.waiting.message = `back-off: login with token ${SECRET} failed`;
    const observation = observe(pod as unknown as PodObject);
    host.spawn('Pod/shop/cart-1', defaultMachinePolicy, 'shop/p');
    host.spawn('Node/node-1', defaultMachinePolicy, 'kube-remedy-system/nodes');
    await host.send('Pod/shop/cart-1', {
      type: 'OBSERVED',
      at: clock.now(),
      observation,
      detections: analyze(observation),
    });

    await eventually(() => expect(received.join('\n')).toContain('OBSERVED'));
    const all = received.join('\n');
    expect(all).toContain('Pod/shop/cart-1');
    expect(all).not.toContain('Node/node-1');
    expect(all).not.toContain(SECRET);
    expect(all).toContain('suspect');
    await host.stopAll();
  });

  it('serves its page, which embeds the inspector, on loopback only', async () => {
    inspector = await startInspector({ port: 0, filter: '*', logger: captureLogger().logger });
    const page = await (await fetch(inspector.url.replace('ws://', 'http://'))).text();
    expect(page).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');
  });
});
