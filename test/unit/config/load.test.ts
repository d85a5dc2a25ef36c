import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type ConfigProblem } from '../../../src/config/index.ts';

function fileWith(text: string, name = 'config.yaml'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kr-config-')), name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(run: () => unknown): readonly ConfigProblem[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loading the configuration', () => {
  it('gives safe defaults when nothing is set', () => {
    const config = loadConfig({ env: {} });
    // The core of every role; integration sections are covered where they are used.
    expect(config).toMatchObject({
      role: 'all',
      namespace: 'kube-remedy-system',
      shutdownTimeout: 30_000,
      redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'kube-remedy' },
      http: { host: '127.0.0.1', port: 8080 },
      log: { level: 'info', format: 'auto' },
    });
    expect(config.nodeName).toBeUndefined();
    expect(config.identity).toMatch(/\S/);
  });

  it('layers file, then environment, then flags', () => {
    const file = fileWith(
      'role: workers\nhttp:\n  port: 9000\n  host: 0.0.0.0\nlog:\n  level: debug\n',
    );
    const config = loadConfig({
      file,
      env: { KUBE_REMEDY_HTTP_PORT: '9100', KUBE_REMEDY_LOG_LEVEL: 'warn' },
      flags: { 'log.level': 'error' },
    });
    expect(config.role).toBe('workers');
    expect(config.http).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(config.log.level).toBe('error');
  });

  it('takes the file from KUBE_REMEDY_CONFIG when no file is passed', () => {
    const file = fileWith('{"namespace": "ops"}', 'config.json');
    expect(loadConfig({ env: { KUBE_REMEDY_CONFIG: file } }).namespace).toBe('ops');
  });

  it('prefers KUBE_REMEDY_ variables over the conventional aliases', () => {
    const env = {
      REDIS_URL: 'redis://alias:6379',
      KUBE_REMEDY_REDIS_URL: 'redis://own:6379',
      NODE_NAME: 'node-a',
      POD_NAMESPACE: 'from-downward-api',
    };
    const config = loadConfig({ env });
    expect(config.redis.url).toBe('redis://own:6379');
    expect(config.nodeName).toBe('node-a');
    expect(config.namespace).toBe('from-downward-api');
  });

  it('reads durations written as Kubernetes durations', () => {
    expect(loadConfig({ env: { KUBE_REMEDY_SHUTDOWN_TIMEOUT: '1m30s' } }).shutdownTimeout).toBe(
      90_000,
    );
  });

  it('accepts an agent with its node name', () => {
    expect(loadConfig({ env: { NODE_NAME: 'n1' }, flags: { role: 'agent' } }).role).toBe('agent');
  });
});

describe('rejecting bad configuration', () => {
  it.each<
    [string, () => unknown, Omit<Partial<ConfigProblem>, 'message'> & { message: string | RegExp }]
  >([
    [
      'an unknown role',
      () => loadConfig({ env: {}, flags: { role: 'agnet' } }),
      {
        path: 'role',
        source: 'flag --role',
        value: 'agnet',
        message: 'expected one of agent, controller, workers, all',
      },
    ],
    [
      'a port that is not a number',
      () => loadConfig({ env: { KUBE_REMEDY_HTTP_PORT: 'eighty' } }),
      { path: 'http.port', source: 'env KUBE_REMEDY_HTTP_PORT', message: 'expected a port number' },
    ],
    [
      'a port out of range',
      () => loadConfig({ env: {}, flags: { 'http.port': '70000' } }),
      { path: 'http.port', value: 70000, message: 'expected a port from 0 to 65535' },
    ],
    [
      'a duration without a unit',
      () => loadConfig({ env: { KUBE_REMEDY_SHUTDOWN_TIMEOUT: '30' } }),
      { path: 'shutdownTimeout', message: /use a number with a unit/ },
    ],
    [
      'a Redis URL of another scheme',
      () => loadConfig({ env: { REDIS_URL: 'http://redis:6379' } }),
      { path: 'redis.url', source: 'env REDIS_URL', message: /redis:\/\// },
    ],
    [
      'a namespace that is not a DNS label',
      () => loadConfig({ env: { POD_NAMESPACE: 'Team_A' } }),
      { path: 'namespace', message: /namespace name/ },
    ],
    [
      'a key prefix with a colon',
      () => loadConfig({ env: { KUBE_REMEDY_REDIS_KEY_PREFIX: 'a:b' } }),
      { path: 'redis.keyPrefix', message: /no ":"/ },
    ],
    [
      'an agent without a node',
      () => loadConfig({ env: { KUBE_REMEDY_ROLE: 'agent' } }),
      { path: 'nodeName', message: /required for role agent/ },
    ],
    [
      'an unknown field in the file',
      () => loadConfig({ env: {}, file: fileWith('http:\n  prot: 80\n') }),
      { path: 'http.prot', message: 'unknown field; known fields here: host, port' },
    ],
    [
      'a file that does not exist',
      () => loadConfig({ env: {}, file: '/nonexistent/kube-remedy.yaml' }),
      { path: '(file)', source: 'file /nonexistent/kube-remedy.yaml', message: 'no such file' },
    ],
    [
      'a file that is not YAML',
      () => loadConfig({ env: {}, file: fileWith('role: [agent\n') }),
      { path: '(file)', message: /^line \d+, column \d+: / },
    ],
    [
      'a file that is a list',
      () => loadConfig({ env: {}, file: fileWith('- role\n') }),
      { path: '(file)', message: 'expected a mapping of fields' },
    ],
  ])('rejects %s, naming the field and what it expects', (_, run, expected) => {
    const { message, ...rest } = expected;
    const problem = problemsOf(run).find((p) => p.path === rest.path);
    expect(problem, `a problem at ${String(rest.path)}`).toMatchObject(rest);
    if (typeof message === 'string') expect(problem?.message).toBe(message);
    else expect(problem?.message).toMatch(message);
  });

  it('reports every bad field at once, in one message', () => {
    const run = (): unknown =>
      loadConfig({
        env: { KUBE_REMEDY_ROLE: 'boss', KUBE_REMEDY_LOG_LEVEL: 'loud' },
        flags: { 'http.port': '-1' },
      });
    expect(problemsOf(run).map((p) => p.path)).toEqual(['role', 'http.port', 'log.level']);
    expect(run).toThrow(/invalid configuration \(3 problems\)/);
  });

  it('never repeats a secret value in the message', () => {
    const run = (): unknown =>
      loadConfig({ env: { REDIS_URL: 'http://user:hunter2@redis', REDIS_PASSWORD: '' } });
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});
