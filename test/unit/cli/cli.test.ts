import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../../support/cli.ts';

describe('the kube-remedy command line', () => {
  it('explains itself and its commands with --help', async () => {
    const result = await runCli(['--help']);
    expect(result.status).toBe(0);
    for (const command of ['run', 'config', 'version']) expect(result.stdout).toContain(command);
    expect(result.stdout).toMatch(
      /Exit status: 0 success, 1 failure, 2 bad usage or configuration/,
    );
  });

  it('documents every run flag with its default and environment variable', async () => {
    const result = await runCli(['run', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--role <role>/);
    expect(result.stdout).toMatch(/--redis-url <url>[\s\S]*KUBE_REMEDY_REDIS_URL, REDIS_URL/);
    expect(result.stdout).toMatch(/--http-port <number>[\s\S]*Default: 8080/);
  });

  it('prints its version and the Node.js running it', async () => {
    const result = await runCli(['version']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^kube-remedy \d+\.\d+\.\d+ \(node \d+\.\d+\.\d+\)\n$/);
  });

  it('prints the effective configuration with secrets masked', async () => {
    const env = cleanEnv({
      REDIS_URL: 'redis://:hunter2@redis:6379',
      KUBE_REMEDY_LOG_LEVEL: 'debug',
    });
    const result = await runCli(['config', 'print', '-o', 'json', '--role', 'workers'], env);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain('hunter2');
    const printed = JSON.parse(result.stdout) as {
      role: string;
      redis: { url: string };
      log: { level: string };
    };
    expect(printed.role).toBe('workers');
    expect(printed.redis.url).toBe('redis://:********@redis:6379');
    expect(printed.log.level).toBe('debug');
  });

  it('exits 2 with one message naming every bad field', async () => {
    const env = cleanEnv({ KUBE_REMEDY_HTTP_PORT: 'eighty' });
    const result = await runCli(['config', 'print', '--role', 'boss'], env);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('invalid configuration (2 problems)');
    expect(result.stderr).toContain(
      'role = "boss" (from flag --role): expected one of agent, controller, workers, all',
    );
    expect(result.stderr).toContain(
      'http.port = "eighty" (from env KUBE_REMEDY_HTTP_PORT): expected a port number',
    );
  });

  it('refuses to run an agent without a node name, with exit status 2', async () => {
    const result = await runCli(['run', '--role', 'agent']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/nodeName: required for role agent/);
  });

  it('exits 2 on an unknown command and suggests the right one', async () => {
    const result = await runCli(['confg']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Did you mean config\?/);
  });
});
