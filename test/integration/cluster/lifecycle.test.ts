import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { readState } from '../../cluster/controlplane.ts';
import { processesInGroups } from '../../cluster/processes.ts';
import { clusterDir } from '../../cluster/versions.ts';

const run = promisify(execFile);
const cli = path.join(clusterDir, 'cli.ts');

describe('cluster CLI', () => {
  const kube = inject('kube');

  it('starts a second control plane with `up` and leaves no process of it behind after `down`', async () => {
    // An own TMPDIR keeps this control plane and its "current" pointer apart from any other.
    const env: NodeJS.ProcessEnv = { ...process.env, KUBE_REMEDY_CLUSTER_BIN_DIR: kube.binDir };
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'kube-remedy-cli-test-'));
    env['TMPDIR'] = tmp;
    try {
      const up = await run(process.execPath, [cli, 'up', '--nodes', '1'], {
        env,
        maxBuffer: 16 << 20,
      });
      const lines = up.stdout.trim().split('\n');
      const last = lines[lines.length - 1] ?? '';
      expect(last).toMatch(/^export KUBECONFIG=\S+admin\.kubeconfig$/);
      const kubeconfig = last.replace(/^export KUBECONFIG=/, '');
      const dir = path.dirname(kubeconfig);
      expect(dir.startsWith(tmp)).toBe(true);

      const state = readState(dir);
      const groups = state.processes.map((p) => p.pgid);
      expect(state.processes.map((p) => p.name)).toEqual([
        'etcd',
        'kube-apiserver',
        'kube-controller-manager',
        'kube-scheduler',
        'kwok',
      ]);
      expect(processesInGroups(groups).length).toBeGreaterThanOrEqual(5);

      const nodes = await run(path.join(kube.binDir, 'kubectl'), ['get', 'nodes', '-o', 'name'], {
        env: { ...env, KUBECONFIG: kubeconfig },
      });
      expect(nodes.stdout.trim()).toBe('node/kwok-node-0');

      const again = await run(process.execPath, [cli, 'up'], { env });
      expect(again.stdout.trim().split('\n').pop()).toBe(last);

      await run(process.execPath, [cli, 'down'], { env });
      expect(processesInGroups(groups)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await run(process.execPath, [cli, 'down'], { env }).catch(() => undefined);
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 300_000);
});
