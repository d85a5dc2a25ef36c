/**
 * Start and stop the local test control plane from a shell.
 *
 *   node test/cluster/cli.ts up [--nodes N]   # npm run cluster:up
 *   node test/cluster/cli.ts down             # npm run cluster:down
 *   node test/cluster/cli.ts status
 *   node test/cluster/cli.ts build            # only build/cache the binaries
 *
 * `up` prints progress on stderr and, on stdout, shell exports whose last line is
 * `export KUBECONFIG=...`, so `eval "$(npm run -s cluster:up)"` points kubectl at the cluster
 * (and KUBE_REMEDY_TEST_KUBECONFIG makes the integration tests reuse it). A second `up` while
 * one is serving prints the same exports. The running cluster is remembered in
 * $TMPDIR/kube-remedy-cluster.current; `down` stops every process it started and removes its files.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ensureBinaries,
  isServing,
  readState,
  startControlPlane,
  stateFileOf,
  stopControlPlane,
  type ControlPlane,
} from './controlplane.ts';

const pointerFile = path.join(os.tmpdir(), 'kube-remedy-cluster.current');
const log = (line: string) => process.stderr.write(`${line}\n`);

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

function exportsFor(cp: ControlPlane): string {
  return [
    `export PATH=${shellQuote(cp.binDir)}:"$PATH"`,
    `export KUBE_REMEDY_TEST_KUBECONFIG=${shellQuote(cp.adminKubeconfig)}`,
    `export KUBECONFIG=${shellQuote(cp.adminKubeconfig)}`,
  ].join('\n');
}

function currentDir(explicit: string | undefined): string | undefined {
  if (explicit) return path.resolve(explicit);
  if (!existsSync(pointerFile)) return undefined;
  const dir = readFileSync(pointerFile, 'utf8').trim();
  return dir || undefined;
}

function currentState(dir: string | undefined): ControlPlane | undefined {
  if (!dir || !existsSync(stateFileOf(dir))) return undefined;
  try {
    return readState(dir);
  } catch {
    return undefined;
  }
}

async function up(nodes: number): Promise<void> {
  const existing = currentState(currentDir(undefined));
  if (existing && (await isServing(existing))) {
    log(`cluster: already running (${existing.server}, state ${existing.stateFile})`);
    process.stdout.write(exportsFor(existing) + '\n');
    return;
  }
  if (existing) {
    log(`cluster: cleaning up a stopped control plane in ${existing.dir}`);
    await stopControlPlane(existing);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-remedy-cluster-'));
  writeFileSync(pointerFile, dir + '\n');
  const cp = await startControlPlane({ nodes, dir, log });
  log(`cluster: admin kubeconfig ${cp.adminKubeconfig}`);
  for (const r of Object.values(cp.roles))
    log(`cluster: ${r.role} kubeconfig ${r.kubeconfig} (${r.user})`);
  log(`cluster: logs in ${cp.logDir}; stop with: node test/cluster/cli.ts down`);
  process.stdout.write(exportsFor(cp) + '\n');
}

async function down(dirArg: string | undefined): Promise<void> {
  const dir = currentDir(dirArg);
  const cp = currentState(dir);
  if (!cp) {
    log(
      dir
        ? `cluster: no state in ${dir}; nothing to stop`
        : 'cluster: no control plane recorded; nothing to stop',
    );
    if (dir && !dirArg) rmSync(pointerFile, { force: true });
    return;
  }
  log(`cluster: stopping ${cp.processes.map((p) => `${p.name}(${p.pid})`).join(' ')}`);
  await stopControlPlane(cp);
  if (existsSync(pointerFile) && readFileSync(pointerFile, 'utf8').trim() === cp.dir)
    rmSync(pointerFile, { force: true });
  log(`cluster: stopped; removed ${cp.dir}`);
}

async function status(dirArg: string | undefined): Promise<boolean> {
  const cp = currentState(currentDir(dirArg));
  if (!cp) {
    log('cluster: not running');
    return false;
  }
  const serving = await isServing(cp);
  log(`cluster: ${serving ? 'serving' : 'NOT serving'} at ${cp.server} (state ${cp.stateFile})`);
  if (serving) process.stdout.write(exportsFor(cp) + '\n');
  return serving;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      nodes: { type: 'string', default: '3' },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    log(
      'usage: node test/cluster/cli.ts up [--nodes N] | down [--dir DIR] | status [--dir DIR] | build',
    );
    return command ? 0 : 2;
  }
  switch (command) {
    case 'up': {
      const nodes = Number(values.nodes);
      if (!Number.isInteger(nodes) || nodes < 0)
        throw new Error(`--nodes must be a whole number, got ${values.nodes}`);
      await up(nodes);
      return 0;
    }
    case 'down':
      await down(values.dir);
      return 0;
    case 'status':
      return (await status(values.dir)) ? 0 : 1;
    case 'build':
      process.stdout.write((await ensureBinaries(log)) + '\n');
      return 0;
    default:
      log(`unknown command ${command}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
