/**
 * Evidence bundles from the real control plane (object, owners, Events; logs where the kubelet
 * serves them, which kwok's fake kubelets do not) to S3 (s3rver on a free loopback port) and to a
 * filesystem path, redacted.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemEvidenceStore } from '../../../src/adapters/storage/filesystem.ts';
import { createS3Client, S3EvidenceStore } from '../../../src/adapters/storage/s3.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import { evidenceProcessors } from '../../../src/effects/evidence/index.ts';
import { redisIncidentSuggestions } from '../../../src/effects/evidence/suggestions.ts';
import type { ProcessorContext } from '../../../src/effects/workers.ts';
import {
  adminClient,
  freshNamespace,
  kubeTime,
  makePodCrashLoop,
  waitFor,
  type KubeClient,
  type List,
  type Pod,
} from '../../cluster/fixtures.ts';
import { adminKubeConfig } from '../../support/kube.ts';
import { captureLogger } from '../../support/logger.ts';
import { redisForTest } from '../../support/redis.ts';

/** Secrets planted in the pod's environment, an annotation and an Event. */
const DB_PASSWORD = 'hunter2-Xq7pL0s3cr3t';
const GITHUB_TOKEN = `ghp_${'A1b2C3d4E5'.repeat(3)}abcdef`;
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const PLANTED = [DB_PASSWORD, GITHUB_TOKEN, AWS_KEY];

const SUGGESTION = {
  cause: 'the app cannot reach its database',
  fix: `check the DB_PASSWORD secret (currently password=${DB_PASSWORD})`,
};

interface Scene {
  ns: string;
  pod: Pod;
}

async function crashLoopingPodOfDeployment(client: KubeClient): Promise<Scene> {
  const ns = await freshNamespace(client, { prefix: 'evidence', keep: true });
  await client.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', annotations: { 'example.com/deploy-token': GITHUB_TOKEN } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'app',
              image: 'registry.k8s.io/pause:3.10',
              env: [
                { name: 'DB_HOST', value: 'db.shop.svc' },
                { name: 'DB_PASSWORD', value: DB_PASSWORD },
                { name: 'AWS_ACCESS_KEY_ID', value: AWS_KEY },
              ],
            },
          ],
        },
      },
    },
  });
  const pod = await waitFor('a running pod of web', async () => {
    const pods = await client.get<List<Pod>>(
      `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`,
    );
    return pods.items.find((p) => p.status?.phase === 'Running');
  });
  await makePodCrashLoop(client, ns, pod.metadata.name, { restartCount: 4 });
  const now = kubeTime();
  await client.create(`/api/v1/namespaces/${ns}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${pod.metadata.name}.planted` },
    involvedObject: {
      kind: 'Pod',
      namespace: ns,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      apiVersion: 'v1',
    },
    reason: 'BackOff',
    message: `Back-off restarting failed container app: connect failed with password=${DB_PASSWORD}`,
    type: 'Warning',
    source: { component: 'kubelet' },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 7,
  });
  return { ns, pod: await client.get<Pod>(`/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`) };
}

function job(scene: Scene, evidence: Record<string, unknown>): EffectJob {
  const actorKey = `Pod/${scene.ns}/${scene.pod.metadata.name}`;
  return {
    owner: 'agent-n1',
    actorKey,
    incidentId: `${actorKey}#2@1732000000000`,
    step: 'escalate-1-evidence',
    policy: `${scene.ns}/crashloops`,
    requestedAt: 1_732_000_000_000,
    effect: {
      kind: 'collectEvidence',
      target: {
        kind: 'Pod',
        namespace: scene.ns,
        name: scene.pod.metadata.name,
        uid: scene.pod.metadata.uid,
      },
      reason: 'CrashLoopBackOff: 4 restarts in 10m; restart did not hold',
      detection: 'CrashLoopBackOff',
      evidence,
      history: [
        {
          at: 1_731_999_000_000,
          type: 'Warning',
          reason: 'Detected',
          message: 'CrashLoopBackOff seen 3 times',
        },
        {
          at: 1_731_999_600_000,
          type: 'Normal',
          reason: 'Remediated',
          message: 'restarted the pod',
        },
      ],
      suggestion: SUGGESTION,
    },
  };
}

function context(): ProcessorContext {
  return {
    jobId: 'evidence-job',
    signal: new AbortController().signal,
    logger: captureLogger().logger,
    attempt: 1,
  };
}

describe('evidence bundles', () => {
  let scene: Scene;
  let client: KubeClient;

  beforeAll(async () => {
    client = adminClient();
    scene = await crashLoopingPodOfDeployment(client);
  });

  afterAll(async () => {
    await client.delete(`/api/v1/namespaces/${scene.ns}`);
  });

  describe('in S3', () => {
    let server: S3rver;
    let dir: string;
    let s3: S3Client;
    const sent: Record<string, string>[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kube-remedy-s3rver-'));
      server = new S3rver({
        port: 0,
        address: '127.0.0.1',
        directory: dir,
        silent: true,
        configureBuckets: [{ name: 'evidence' }],
      });
      const { port } = await server.run();
      s3 = createS3Client({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
      });
      // Read what goes on the wire (s3rver ignores encryption headers, so it cannot echo them).
      s3.middlewareStack.add(
        (next) => async (args) => {
          sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
          return next(args);
        },
        { step: 'finalizeRequest', name: 'recordHeaders' },
      );
    });

    afterAll(async () => {
      s3.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function objects(prefix: string): Promise<Map<string, string>> {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: 'evidence', Prefix: prefix }),
      );
      const out = new Map<string, string>();
      for (const o of listed.Contents ?? []) {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'evidence', Key: o.Key }));
        out.set(o.Key!, await got.Body!.transformToString());
      }
      return out;
    }

    it('writes a redacted bundle at a predictable key with the object, its owners, events and logs', async () => {
      const { collectEvidence } = evidenceProcessors({
        kc: adminKubeConfig(),
        stores: {
          s3: new S3EvidenceStore({
            client: s3,
            serverSideEncryption: 'aws:kms',
            kmsKeyId: 'alias/evidence',
          }),
        },
        bounds: { maxLines: 100, maxBytes: 64 * 1024 },
        now: () => 1_732_000_100_000,
      });
      const result = await collectEvidence(
        job(scene, { s3: { bucket: 'evidence', prefix: 'prod/bundles' } }),
        context(),
      );

      const incident = `prod/bundles/${scene.ns}/Pod/${scene.pod.metadata.name}/2-1732000000000/`;
      // The link is the incident's folder; this collection (the first escalation's) has its own.
      const folder = `${incident}escalate-1/`;
      expect(result).toMatchObject({
        url: `s3://evidence/${incident}`,
        bundle: `s3://evidence/${folder}bundle.json`,
        index: `s3://evidence/${folder}index.json`,
      });
      const stored = await objects(folder);
      expect([...stored.keys()].map((k) => k.slice(folder.length)).sort()).toEqual(
        [
          'bundle.json',
          'events.txt',
          'index.json',
          'logs/' + scene.pod.metadata.name + '/app.log',
          'logs/' + scene.pod.metadata.name + '/app.previous.log',
          'manifests.yaml',
        ].sort(),
      );

      // No planted secret anywhere, in any file.
      for (const [key, body] of stored) {
        for (const secret of PLANTED) expect(body, `${key} holds a secret`).not.toContain(secret);
      }

      const bundle = JSON.parse(stored.get(`${folder}bundle.json`)!) as {
        target: unknown;
        collectedAt: string;
        history: unknown[];
        suggestion: { cause: string; fix: string };
        evidence: {
          object: { kind: string; metadata: { name: string; managedFields?: unknown } };
          owners: { kind: string; name: string }[];
          events: { reason: string; message: string; count: number }[];
          logs: {
            container: string;
            restarts: number;
            current: { unavailable?: string };
            previous: { unavailable?: string };
          }[];
        };
        redaction: { kind: string; count: number }[];
      };
      expect(bundle.target).toMatchObject({
        kind: 'Pod',
        namespace: scene.ns,
        name: scene.pod.metadata.name,
      });
      expect(bundle.collectedAt).toBe(new Date(1_732_000_100_000).toISOString());
      expect(bundle.evidence.object).toMatchObject({
        kind: 'Pod',
        metadata: { name: scene.pod.metadata.name },
      });
      expect(bundle.evidence.object.metadata.managedFields).toBeUndefined();
      expect(bundle.evidence.owners.map((o) => `${o.kind}/${o.name}`)).toEqual([
        expect.stringMatching(/^ReplicaSet\/web-[a-z0-9]+$/),
        'Deployment/web',
      ]);
      expect(bundle.evidence.events).toContainEqual(
        expect.objectContaining({
          reason: 'BackOff',
          count: 7,
          message: expect.stringContaining('password=[REDACTED:secret]') as unknown,
        }),
      );
      // kwok's kubelets serve no logs: the bundle says so instead of failing.
      const [logs] = bundle.evidence.logs;
      expect(logs).toMatchObject({ container: 'app', restarts: 4 });
      expect(logs!.current.unavailable).toMatch(/^logs unavailable: /);
      expect(logs!.previous.unavailable).toMatch(/^logs unavailable: /);
      expect(bundle.history).toHaveLength(2);
      expect(bundle.suggestion.cause).toBe('the app cannot reach its database');
      expect(bundle.redaction.reduce((n, f) => n + f.count, 0)).toBeGreaterThanOrEqual(4);

      const manifests = stored.get(`${folder}manifests.yaml`)!;
      expect(manifests).toContain('name: DB_PASSWORD');
      expect(manifests).toContain('value: "[REDACTED:secret]"');
      expect(manifests).toContain('kind: Deployment');
      expect(stored.get(`${folder}events.txt`)).toContain('BackOff');
      const index = JSON.parse(stored.get(`${folder}index.json`)!) as { files: { name: string }[] };
      expect(index.files.map((f) => f.name)).toContain('bundle.json');

      // Every object was written with the configured encryption.
      const puts = sent.filter((h) => h['x-amz-server-side-encryption'] !== undefined);
      expect(puts).toHaveLength(stored.size);
      expect(
        new Set(
          puts.map(
            (h) =>
              `${h['x-amz-server-side-encryption']} ${h['x-amz-server-side-encryption-aws-kms-key-id']}`,
          ),
        ),
      ).toEqual(new Set(['aws:kms alias/evidence']));
    });

    it('fails as terminal when the bucket does not exist', async () => {
      const { collectEvidence } = evidenceProcessors({
        kc: adminKubeConfig(),
        stores: { s3: new S3EvidenceStore({ client: s3 }) },
      });
      await expect(
        collectEvidence(job(scene, { s3: { bucket: 'no-such-bucket' } }), context()),
      ).rejects.toMatchObject({
        name: 'TerminalEffectError',
        code: 'not-found',
      });
    });
  });

  describe('on a filesystem path', () => {
    let root: string;

    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), 'kube-remedy-efs-'));
    });

    afterAll(() => {
      rmSync(root, { recursive: true, force: true });
    });

    function files(dir: string): string[] {
      return readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => statSync(join(dir, f)).isFile())
        .sort();
    }

    it('writes the same bundle under the policy directory, inside the configured root', async () => {
      const { collectEvidence } = evidenceProcessors({
        kc: adminKubeConfig(),
        stores: { filesystem: new FilesystemEvidenceStore({ root }) },
      });
      const policyDir = join(root, 'team-shop');
      const result = await collectEvidence(job(scene, { efs: { path: policyDir } }), context());
      const incident = join(policyDir, scene.ns, 'Pod', scene.pod.metadata.name, '2-1732000000000');
      const folder = join(incident, 'escalate-1');
      expect(result).toMatchObject({ url: `${incident}/`, bundle: `${folder}/bundle.json` });
      expect(files(folder)).toEqual(
        [
          'bundle.json',
          'events.txt',
          'index.json',
          'manifests.yaml',
          `logs/${scene.pod.metadata.name}/app.log`,
          `logs/${scene.pod.metadata.name}/app.previous.log`,
        ].sort(),
      );
      for (const file of files(folder)) {
        const body = readFileSync(join(folder, file), 'utf8');
        for (const secret of PLANTED)
          expect(body, `${relative(root, join(folder, file))} holds a secret`).not.toContain(
            secret,
          );
      }
      expect(files(root).every((f) => !f.endsWith('.tmp'))).toBe(true);
    });

    it('carries the suggestion the LLM made for the incident earlier, redacted', async () => {
      const db = await redisForTest();
      try {
        const suggestions = redisIncidentSuggestions(db.redis, db.prefix);
        const { collectEvidence } = evidenceProcessors({
          kc: adminKubeConfig(),
          stores: { filesystem: new FilesystemEvidenceStore({ root }) },
          suggestions,
        });
        const later = job(scene, { efs: { path: join(root, 'later') } });
        later.effect = { ...later.effect, suggestion: undefined };
        await suggestions.keep(later.incidentId, SUGGESTION);
        await collectEvidence(later, context());
        const folder = join(root, 'later', scene.ns, 'Pod', scene.pod.metadata.name);
        const bundle = JSON.parse(
          readFileSync(join(folder, '2-1732000000000', 'escalate-1', 'bundle.json'), 'utf8'),
        ) as { suggestion: { cause: string; fix: string } };
        expect(bundle.suggestion.cause).toBe(SUGGESTION.cause);
        expect(bundle.suggestion.fix).not.toContain(DB_PASSWORD);
      } finally {
        await db.cleanup();
      }
    });

    it("collects a Deployment's pods and the logs of the unready ones", async () => {
      const { collectEvidence } = evidenceProcessors({
        kc: adminKubeConfig(),
        stores: { filesystem: new FilesystemEvidenceStore({ root }) },
      });
      const deployment = job(scene, { efs: { path: root } });
      deployment.actorKey = `Deployment/${scene.ns}/web`;
      deployment.incidentId = `Deployment/${scene.ns}/web#1@5`;
      deployment.effect = {
        ...deployment.effect,
        target: { kind: 'Deployment', namespace: scene.ns, name: 'web' },
      };
      const result = await collectEvidence(deployment, context());
      const incident = join(root, scene.ns, 'Deployment', 'web', '1-5');
      const folder = join(incident, 'escalate-1');
      expect(result['url']).toBe(`${incident}/`);
      const bundle = JSON.parse(readFileSync(join(folder, 'bundle.json'), 'utf8')) as {
        evidence: {
          owners: unknown[];
          pods: { name: string; ready: boolean; restarts: number }[];
          logs: { pod: string }[];
        };
      };
      expect(bundle.evidence.owners).toEqual([]);
      expect(bundle.evidence.pods).toEqual([
        expect.objectContaining({ name: scene.pod.metadata.name, ready: false, restarts: 4 }),
      ]);
      expect(bundle.evidence.logs.map((l) => l.pod)).toEqual([scene.pod.metadata.name]);
      const manifests = readFileSync(join(folder, 'manifests.yaml'), 'utf8');
      expect(manifests).toContain('kind: Deployment');
      for (const secret of PLANTED) expect(manifests).not.toContain(secret);
    });

    it('refuses paths outside the root, and any path when no root is configured', async () => {
      const inRoot = evidenceProcessors({
        kc: adminKubeConfig(),
        stores: { filesystem: new FilesystemEvidenceStore({ root }) },
      });
      await expect(
        inRoot.collectEvidence(job(scene, { efs: { path: '/etc' } }), context()),
      ).rejects.toMatchObject({
        code: 'forbidden',
      });
      await expect(
        inRoot.collectEvidence(job(scene, { efs: { path: join(root, '..') } }), context()),
      ).rejects.toMatchObject({
        code: 'forbidden',
      });
      const noRoot = evidenceProcessors({
        kc: adminKubeConfig(),
        stores: { filesystem: new FilesystemEvidenceStore({ root: undefined }) },
      });
      await expect(
        noRoot.collectEvidence(job(scene, { efs: { path: root } }), context()),
      ).rejects.toMatchObject({
        code: 'not-configured',
      });
    });
  });
});
