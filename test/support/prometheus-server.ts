/**
 * A real Prometheus for the tests: Debian's package (2.42, with promtool), run as our own process
 * with explicit flags on a free loopback port, a temporary data directory and a generated
 * configuration; never Debian's service on its default port. When the binaries are missing, root
 * installs the package (with service starts denied while it installs); anyone else is told what
 * to install.
 *
 * - History: before the server starts, `promtool tsdb create-blocks-from openmetrics` writes the
 *   deterministic scenarios of prometheus-history.ts into the data directory.
 * - Live targets: the server scrapes every second whatever `file_sd` target files tests drop in
 *   `targetsDir` (prometheus-exporter.ts does), so each test file runs its own exporter.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { HISTORY_ENDS_BEFORE_START_MS, historyOpenMetrics } from './prometheus-history.ts';

export interface TestPrometheus {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Where tests drop file_sd target files (`<name>.json`). */
  targetsDir: string;
  /** Where the backfilled history ends (ms since the epoch). */
  historyAnchorMs: number;
  /** `prometheus --version`'s first line. */
  version: string;
  /** The server's log file. */
  logFile: string;
  stop: () => Promise<void>;
}

const SYSTEM_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin'];

function which(binary: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(SYSTEM_DIRS);
  for (const dir of dirs) {
    const path = join(dir, binary);
    if (dir && spawnSync('test', ['-x', path]).status === 0) return path;
  }
  return undefined;
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

function installPrometheus(): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(
      'The scaling integration tests need Prometheus and promtool, which are not installed. ' +
        'Install them (Debian/Ubuntu: sudo apt-get install -y --no-install-recommends prometheus); ' +
        'the tests run the binary themselves on a free loopback port, so the service may stay stopped ' +
        '(sudo systemctl disable --now prometheus).',
    );
  }
  process.stderr.write('[test setup] prometheus missing: installing Debian package prometheus\n');
  // Deny service starts while installing, so the package's service never takes port 9090.
  const denyStarts = !existsSync(POLICY_RC);
  if (denyStarts) writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'prometheus']]) {
      const result = spawnSync('apt-get', args, {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      if (result.status !== 0) {
        throw new Error(`apt-get ${args.join(' ')} failed with status ${result.status}`);
      }
    }
  } finally {
    if (denyStarts) unlinkSync(POLICY_RC);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(binary: string, args: string[], what: string): string {
  const result = spawnSync(binary, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `${what} failed (status ${String(result.status)}): ${result.stderr || result.stdout}`,
    );
  }
  return `${result.stdout}${result.stderr}`;
}

async function ready(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

export function prometheusConfig(targetsDir: string): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: kube-remedy-test',
    '    file_sd_configs:',
    `      - files: ['${join(targetsDir, '*.json')}']`,
    '        refresh_interval: 1s',
    '',
  ].join('\n');
}

export async function startTestPrometheus(): Promise<TestPrometheus> {
  if (which('prometheus') === undefined || which('promtool') === undefined) installPrometheus();
  const prometheus = which('prometheus');
  const promtool = which('promtool');
  if (prometheus === undefined || promtool === undefined) {
    throw new Error('prometheus or promtool is still missing after installing the package');
  }
  const version = (
    run(prometheus, ['--version'], 'prometheus --version').split('\n')[0] ?? ''
  ).trim();

  const dir = mkdtempSync(join(tmpdir(), 'kube-remedy-prometheus-'));
  const dataDir = join(dir, 'data');
  const targetsDir = join(dir, 'targets');
  mkdirSync(dataDir);
  mkdirSync(targetsDir);
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(targetsDir));
  run(promtool, ['check', 'config', configFile], 'promtool check config');

  const historyAnchorMs = Math.floor((Date.now() - HISTORY_ENDS_BEFORE_START_MS) / 60_000) * 60_000;
  const historyFile = join(dir, 'history.om');
  writeFileSync(historyFile, historyOpenMetrics(historyAnchorMs));
  run(
    promtool,
    ['tsdb', 'create-blocks-from', 'openmetrics', historyFile, dataDir],
    'promtool tsdb create-blocks-from openmetrics',
  );

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'prometheus.log');
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      prometheus,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Low, so a test can make Prometheus refuse a query as too big without waiting for it.
        '--query.max-samples=200000',
        '--log.level=warn',
      ],
      { cwd: dir, stdio: ['ignore', log, log] },
    );
  } finally {
    closeSync(log);
  }
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const lastResort = () => child.kill('SIGKILL');
  process.once('exit', lastResort);

  const stop = async (): Promise<void> => {
    process.off('exit', lastResort);
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (await ready(url)) {
      process.stderr.write(`[test setup] started ${version} at ${url} (data in ${dataDir})\n`);
      return { url, targetsDir, historyAnchorMs, version, logFile, stop };
    }
    if (exited) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tail = existsSync(logFile)
    ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')
    : '';
  await stop();
  throw new Error(`prometheus did not become ready at ${url}:\n${tail}`);
}
