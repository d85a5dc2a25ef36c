/**
 * A real Redis for the tests: the one at REDIS_URL (or 127.0.0.1:6379) when it answers,
 * otherwise a private redis-server on a free loopback port with a temporary directory. When no
 * redis-server is installed, root installs Debian's package; anyone else is told what to install.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestRedis {
  url: string;
  /** Whether this run started the server (and so stops it). */
  owned: boolean;
  stop: () => Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function onPath(binary: string): boolean {
  const dirs = (process.env['PATH'] ?? '')
    .split(delimiter)
    .concat(['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  return dirs.some((dir) => spawnSync('test', ['-x', join(dir, binary)]).status === 0);
}

function installRedis(): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(
      'The integration tests need Redis: nothing answers at REDIS_URL (or redis://127.0.0.1:6379) ' +
        'and redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server) ' +
        'or point REDIS_URL at a Redis you can use.',
    );
  }
  process.stderr.write(
    '[test setup] redis-server missing: installing Debian package redis-server\n',
  );
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'redis-server']]) {
    const result = spawnSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0)
      throw new Error(`apt-get ${args.join(' ')} failed with status ${result.status}`);
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

async function startPrivateRedis(): Promise<TestRedis> {
  if (!onPath('redis-server')) installRedis();
  const dir = mkdtempSync(join(tmpdir(), 'kube-remedy-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore', detached: false },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await answers(url)) {
      process.stderr.write(`[test setup] started redis-server at ${url}\n`);
      return {
        url,
        owned: true,
        stop: async () => {
          child.kill('SIGTERM');
          await new Promise((resolve) => child.once('exit', resolve));
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on ${url} (exit code ${String(child.exitCode)})`);
}

export async function startTestRedis(env: Record<string, string | undefined>): Promise<TestRedis> {
  const url = env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  if (await answers(url)) return { url, owned: false, stop: () => Promise.resolve() };
  return startPrivateRedis();
}
