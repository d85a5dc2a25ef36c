/**
 * `kube-remedy run` as a real process for end-to-end tests: started with a clean environment,
 * its JSON log lines kept (printed when a test fails), its HTTP address read from the
 * "started" line, ready once /readyz says so.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { onTestFailed } from 'vitest';
import { cleanEnv, startCli } from './cli.ts';
import { eventually } from './logger.ts';

export interface RunningKubeRemedy {
  child: ChildProcessWithoutNullStreams;
  base: string;
  logs: Record<string, unknown>[];
  /** SIGTERM and wait; returns the exit code. */
  stop: () => Promise<number | null>;
  /** SIGKILL, as a crash or an OOM kill would. */
  kill: () => Promise<void>;
}

export async function startKubeRemedy(
  args: readonly string[],
  env: Record<string, string>,
): Promise<RunningKubeRemedy> {
  const child = startCli(
    ['run', '--http-port', '0', ...args],
    cleanEnv({ KUBE_REMEDY_LOG_FORMAT: 'json', KUBE_REMEDY_LOG_LEVEL: 'debug', ...env }),
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  try {
    onTestFailed(() => {
      process.stderr.write(
        `--- kube-remedy ${args.join(' ')} logs ---\n${logs.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}\n`,
      );
    });
  } catch {
    // outside a test: nothing to print into
  }
  const base = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        logs.push(record);
        if (record['msg'] === 'kube-remedy started' && typeof record['http'] === 'string')
          resolve(record['http']);
      } catch {
        stderr += `${line}\n`;
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`kube-remedy exited with ${String(code)} before starting:\n${stderr}`)),
    );
  });
  return {
    child,
    base,
    logs,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

export async function waitReady(running: RunningKubeRemedy, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const response = await fetch(`${running.base}/readyz`);
      if (response.status !== 200) throw new Error(`not ready: ${await response.text()}`);
    },
    timeoutMs,
    200,
  );
}

/** The value of the first line of a running process's /metrics that matches `pattern`. */
export async function metricValue(
  running: RunningKubeRemedy,
  pattern: RegExp,
): Promise<number | undefined> {
  const text = await (await fetch(`${running.base}/metrics`)).text();
  const line = text.split('\n').find((l) => pattern.test(l));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}
