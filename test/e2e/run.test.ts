import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it, inject, onTestFinished } from 'vitest';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { adminClient } from '../cluster/fixtures.ts';
import { installCrd } from '../integration/policy/support.ts';
import { cleanEnv, startCli } from '../support/cli.ts';
import { redisForTest } from '../support/redis.ts';

/** Starts `kube-remedy run` and waits for its "started" log line, which carries the HTTP address. */
async function startRun(
  env: Record<string, string>,
  kubeconfig: string = inject('kube').kubeconfig,
): Promise<{ child: ChildProcessWithoutNullStreams; base: string }> {
  const child = startCli(['run', '--role', 'all', '--http-port', '0', '--kubeconfig', kubeconfig], {
    ...env,
    KUBE_REMEDY_LOG_FORMAT: 'json',
  });
  const lines = createInterface({ input: child.stderr });
  for await (const line of lines) {
    const record = JSON.parse(line) as { msg?: string; http?: string };
    if (record.msg === 'kube-remedy started' && record.http) return { child, base: record.http };
  }
  throw new Error(`kube-remedy exited before starting (status ${String(child.exitCode)})`);
}

describe('kube-remedy run', () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('serves health, readiness and metrics, then stops cleanly on SIGTERM', async () => {
    // Its watches sync only once the policy CRD exists; another test file may not have run first.
    await installCrd(adminClient());
    const scratch = await redisForTest();
    onTestFinished(() => scratch.cleanup());
    const started = await startRun(
      cleanEnv({ REDIS_URL: scratch.url, KUBE_REMEDY_REDIS_KEY_PREFIX: scratch.prefix }),
    );
    child = started.child;

    expect((await fetch(`${started.base}/healthz`)).status).toBe(200);

    let ready = await fetch(`${started.base}/readyz`);
    for (let i = 0; i < 300 && ready.status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await fetch(`${started.base}/readyz`);
    }
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { redis: 'ok', watches: 'ok' } });

    const metrics = await (await fetch(`${started.base}/metrics`)).text();
    expect(metrics).toMatch(
      /^kube_remedy_build_info\{version="\d+\.\d+\.\d+",role="all",node_version="[\d.]+"\} 1$/m,
    );
    expect(metrics).toContain('process_resident_memory_bytes');

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('stays alive but not ready while Redis is unreachable', async () => {
    const started = await startRun(cleanEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
    child = started.child;
    expect((await fetch(`${started.base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${started.base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, checks: { redis: 'failing' } });
  });
});
