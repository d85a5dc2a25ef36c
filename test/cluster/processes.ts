/**
 * Child processes of the control plane: each is spawned detached (its own process group, so a
 * stop reaches anything it forks), with stdout and stderr appended to a log file, and argument
 * arrays only (never a shell string).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

export interface ProcessRecord {
  name: string;
  pid: number;
  /** Process group id (== pid: spawned detached). */
  pgid: number;
  logFile: string;
  command: string[];
}

export interface RunningProcess extends ProcessRecord {
  /** Set when the process has exited (known only to the process that spawned it). */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  spawnError?: Error;
}

export function startProcess(
  name: string,
  bin: string,
  args: string[],
  opts: { logFile: string; cwd: string; env?: NodeJS.ProcessEnv },
): RunningProcess {
  const fd = openSync(opts.logFile, 'a');
  let child;
  try {
    child = spawn(bin, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new Error(`${name}: could not spawn ${bin} (see ${opts.logFile})`);
  }
  const rec: RunningProcess = {
    name,
    pid: child.pid,
    pgid: child.pid,
    logFile: opts.logFile,
    command: [bin, ...args],
  };
  child.on('exit', (code, signal) => {
    rec.exit = { code, signal };
  });
  child.on('error', (err) => {
    rec.spawnError = err;
  });
  child.unref();
  return rec;
}

/** Last `lines` lines of a log file (empty string when missing). */
export function logTail(file: string, lines = 40): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8');
  return text
    .split('\n')
    .slice(-lines - 1)
    .join('\n');
}

export function describeFailure(proc: ProcessRecord, why: string): Error {
  return new Error(
    `${proc.name} ${why}\n  log: ${proc.logFile}\n  command: ${proc.command.join(' ')}\n--- tail of ${proc.name} log ---\n${logTail(proc.logFile)}`,
  );
}

/** Pids of live (non-zombie) processes whose process group is one of `pgids`, read from /proc. */
export function processesInGroups(pgids: number[]): number[] {
  const wanted = new Set(pgids);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after the parenthesised command: state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const pgrp = Number(rest[2]);
    if (wanted.has(pgrp) && state !== 'Z' && state !== 'X') found.push(Number(entry));
  }
  return found;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops process groups: SIGTERM, wait up to `graceMs`, then SIGKILL whatever is left and wait
 * until no process of those groups remains.
 */
export async function stopProcessGroups(pgids: number[], graceMs = 10_000): Promise<void> {
  const groups = pgids.filter((g) => Number.isInteger(g) && g > 1);
  for (const g of groups) signalGroup(g, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processesInGroups(groups).length > 0 && Date.now() < deadline) await sleep(100);
  if (processesInGroups(groups).length > 0) {
    for (const g of groups) signalGroup(g, 'SIGKILL');
    const killDeadline = Date.now() + 10_000;
    while (processesInGroups(groups).length > 0) {
      if (Date.now() > killDeadline) {
        throw new Error(`processes survived SIGKILL: ${processesInGroups(groups).join(', ')}`);
      }
      await sleep(50);
    }
  }
}

/** A currently free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
