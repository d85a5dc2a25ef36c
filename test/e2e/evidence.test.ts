import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makePodCrashLoop } from '../cluster/fixtures.ts';
import { startCartScene, type CartScene } from '../support/cart-scene.ts';
import { eventually } from '../support/logger.ts';

describe('evidence on detection, end to end', () => {
  let scene: CartScene | undefined;
  let root: string | undefined;
  afterEach(async () => {
    await scene?.close();
    scene = undefined;
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it('keeps the crash-looping pod as it was, although the restart deletes it', async () => {
    const evidenceRoot = mkdtempSync(join(tmpdir(), 'kube-remedy-evidence-'));
    root = evidenceRoot;
    scene = await startCartScene({
      prefix: 'evidence',
      policy: {
        mode: 'auto',
        detections: [
          {
            type: 'CrashLoopBackOff',
            threshold: 3,
            window: '10m',
            action: 'restartPod',
            deleteBarePods: true,
          },
        ],
        evidence: { efs: { path: join(evidenceRoot, 'shop-team') } },
      },
      workersEnv: { KUBE_REMEDY_EVIDENCE_EFS_ROOT: evidenceRoot },
    });
    const { client, ns, podStatus } = scene;

    for (const restartCount of [1, 2, 3]) {
      await makePodCrashLoop(client, ns, 'cart-1', { restartCount });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // Restarted: kwok deletes the pod. (The restart waits for the evidence, up to 15 s, which a
    // loaded machine can take: the bound is generous.)
    await eventually(async () => expect(await podStatus()).toBe(404), 60_000);

    const pod = join(evidenceRoot, 'shop-team', ns, 'Pod', 'cart-1');
    const [incident] = readdirSync(pod);
    expect(incident).toMatch(/^1-\d+$/);
    const detected = join(pod, incident!, 'detected');
    const manifests = readFileSync(join(detected, 'manifests.yaml'), 'utf8');
    // The object as it was at detection, which no later collection could read.
    expect(manifests).toContain('name: cart-1');
    expect(manifests).toMatch(/restartCount: 3/);
    const bundle = JSON.parse(readFileSync(join(detected, 'bundle.json'), 'utf8')) as {
      step: string;
      detection: string;
      evidence: { objectUnavailable?: string };
    };
    expect(bundle).toMatchObject({ step: 'detected-evidence', detection: 'CrashLoopBackOff' });
    expect(bundle.evidence.objectUnavailable).toBeUndefined();
  });
});
