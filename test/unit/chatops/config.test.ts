import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createChatOps } from '../../../src/chatops/index.ts';
import {
  ConfigError,
  displayConfig,
  loadConfig,
  type ConfigProblem,
} from '../../../src/config/index.ts';
import { captureLogger } from '../../support/logger.ts';

const SLACK_ENV = {
  SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
  SLACK_SIGNING_SECRET: 'signing-secret-0123456789',
  KUBE_REMEDY_SLACK_BUTTON_SECRET: 'b'.repeat(32),
};

function problemsOf(env: Record<string, string>): readonly ConfigProblem[] {
  try {
    loadConfig({ env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

// Never connects: lazyConnect, and building ChatOps sends no command.
const redis = new Redis({ lazyConnect: true });
afterAll(() => redis.disconnect());

describe('the slack and llm configuration sections', () => {
  it('are absent, and Slack and the LLM off, when nothing is set', () => {
    const config = loadConfig({ env: {} });
    expect(config.slack).toBeUndefined();
    expect(config.llm).toBeUndefined();
    const chatops = createChatOps(config, { redis, logger: captureLogger().logger });
    expect(Object.keys(chatops.processors)).toEqual([]);
    expect(chatops.notifier).toBeNull();
  });

  it('take defaults once Slack is configured, and mask its secrets when printed', () => {
    const config = loadConfig({ env: SLACK_ENV });
    expect(config.slack).toEqual({
      botToken: SLACK_ENV.SLACK_BOT_TOKEN,
      signingSecret: SLACK_ENV.SLACK_SIGNING_SECRET,
      buttonSecret: SLACK_ENV.KUBE_REMEDY_SLACK_BUTTON_SECRET,
      apiUrl: 'https://slack.com/api/',
      host: '127.0.0.1',
      port: 3000,
      buttonTtl: 86_400_000,
    });
    const shown = JSON.stringify(displayConfig(config));
    for (const secret of Object.values(SLACK_ENV)) expect(shown).not.toContain(secret);
    const chatops = createChatOps(config, { redis, logger: captureLogger().logger });
    expect(Object.keys(chatops.processors).sort()).toEqual(['escalate', 'notify']);
  });

  it('need the three Slack secrets together', () => {
    expect(problemsOf({ SLACK_BOT_TOKEN: SLACK_ENV.SLACK_BOT_TOKEN })).toEqual([
      expect.objectContaining({
        path: 'slack.signingSecret',
        message: 'Slack needs botToken, signingSecret and buttonSecret together',
      }),
      expect.objectContaining({
        path: 'slack.buttonSecret',
        message: 'Slack needs botToken, signingSecret and buttonSecret together',
      }),
    ]);
  });

  it.each([
    [{ SLACK_BOT_TOKEN: 'xoxp-user-token' }, 'slack.botToken', /bot token/],
    [
      { ...SLACK_ENV, KUBE_REMEDY_SLACK_BUTTON_SECRET: 'short' },
      'slack.buttonSecret',
      /at least 32 characters/,
    ],
    [{ KUBE_REMEDY_SLACK_CHANNEL: 'general' }, 'slack.channel', /#name or an ID/],
    [
      { KUBE_REMEDY_REDACT_PATTERNS: 'ACME-[0-9]{4}\n([unclosed' },
      'llm.redactPatterns',
      /"\(\[unclosed" is not a regular expression/,
    ],
    [{ KUBE_REMEDY_REDACT_PATTERNS: 'a*' }, 'llm.redactPatterns', /matches the empty string/],
    [{ KUBE_REMEDY_LLM_MAX_PROMPT_CHARS: '100' }, 'llm.maxPromptChars', /at least 2000/],
  ])('reject %o at %s', (env, path, message) => {
    const problem = problemsOf(env).find((p) => p.path === path);
    expect(problem?.message).toMatch(message);
  });

  it('turn on suggestions when a model is named, with the endpoint and key from the environment', () => {
    const config = loadConfig({
      env: {
        KUBE_REMEDY_LLM_MODEL: 'llama3.1',
        KUBE_REMEDY_LLM_BASE_URL: 'http://ollama:11434/v1',
        OPENAI_API_KEY: 'sk-test',
      },
    });
    expect(config.llm).toEqual({
      model: 'llama3.1',
      baseUrl: 'http://ollama:11434/v1',
      apiKey: 'sk-test',
      timeout: 30_000,
      maxPromptChars: 24_000,
    });
    expect(JSON.stringify(displayConfig(config))).not.toContain('sk-test');
    const chatops = createChatOps(config, { redis, logger: captureLogger().logger });
    expect(Object.keys(chatops.processors)).toEqual(['suggestCause']);
  });
});
