import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLlmClient } from '../../../src/adapters/llm/index.ts';
import { FilesystemEvidenceStore } from '../../../src/adapters/storage/filesystem.ts';
import { ChatOpsStore } from '../../../src/chatops/store.ts';
import type { EffectJob } from '../../../src/effects/catalogue.ts';
import {
  keepingSuggestions,
  redisIncidentSuggestions,
} from '../../../src/effects/evidence/suggestions.ts';
import {
  createSuggestCauseProcessor,
  type SuggestCauseOptions,
} from '../../../src/effects/llm/index.ts';
import type { EffectProcessor, ProcessorContext } from '../../../src/effects/workers.ts';
import { createRedactor } from '../../../src/redaction/index.ts';
import { startFakeLlm, GOOD_ANSWER, type FakeLlm } from '../../support/fake-llm.ts';
import { captureLogger } from '../../support/logger.ts';
import { redisForTest, type RedisForTest } from '../../support/redis.ts';
import { SECRET_SAMPLES } from '../../unit/redaction/corpus.ts';
import { approvalJob, buttonsOf, shownText, startHarness } from '../slack/support.ts';

let llm: FakeLlm;
let db: RedisForTest;
let n = 0;
const { logger } = captureLogger('warn');

beforeAll(async () => {
  llm = await startFakeLlm();
  db = await redisForTest();
});
afterAll(async () => {
  await llm.close();
  await db.cleanup();
});
afterEach(() => {
  llm.behave({ kind: 'answer', content: GOOD_ANSWER });
});

function processor(
  overrides: Partial<SuggestCauseOptions> = {},
  timeoutMs = 5_000,
): EffectProcessor {
  return createSuggestCauseProcessor({
    llm: createLlmClient({ baseUrl: llm.baseUrl, apiKey: 'test-key', timeoutMs }),
    model: 'test-model',
    maxPromptChars: 12_000,
    redactor: createRedactor(),
    store: new ChatOpsStore(db.redis, db.prefix),
    ...overrides,
  });
}

function context(): ProcessorContext {
  n += 1;
  return { jobId: `suggest-${n}`, signal: new AbortController().signal, logger, attempt: 1 };
}

function suggestJob(effect: Record<string, unknown> = {}): EffectJob {
  n += 1;
  return {
    owner: 'agent-node-1',
    actorKey: `Pod/shop/api-${n}`,
    incidentId: `Pod/shop/api-${n}#1@1700000000000`,
    step: 'suggest',
    policy: 'shop/web-policy',
    requestedAt: Date.now(),
    effect: {
      kind: 'suggestCause',
      target: { kind: 'Pod', namespace: 'shop', name: `api-${n}` },
      reason: 'CrashLoopBackOff: container app restarted 6 times in 10m',
      evidence: {
        summary: 'CrashLoopBackOff: back-off 5m0s restarting failed container',
        events: [
          {
            type: 'Warning',
            reason: 'BackOff',
            message: 'Back-off restarting failed container app',
            count: 42,
          },
        ],
        logs: [
          {
            container: 'app',
            lines: ['starting', 'dial tcp: lookup db.shop.svc: no such host', 'exit 1'],
          },
        ],
      },
      ...effect,
    },
  };
}

/** The user message the fake server received last. */
function lastPrompt(): string {
  const request = llm.requests().at(-1);
  const user = request?.body.messages.find((m) => m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}

describe('suggestCause against an OpenAI-compatible endpoint', () => {
  it('turns a normal answer into a structured suggestion, shown and never executed', async () => {
    const before = llm.requests().length;
    const result = await processor()(suggestJob(), context());
    expect(result).toEqual({
      outcome:
        'suggested (confidence 82%, never executed): The container exits at start-up because DATABASE_URL points at a host that does not resolve.',
      suggestion: {
        probableCause:
          'The container exits at start-up because DATABASE_URL points at a host that does not resolve.',
        confidence: 0.82,
        suggestedSteps: [
          'Check the Service name in DATABASE_URL',
          'Run nslookup from a debug pod in the namespace',
        ],
        model: 'test-model',
      },
    });
    const requests = llm.requests();
    expect(requests).toHaveLength(before + 1);
    const body = requests.at(-1)?.body;
    expect(body?.model).toBe('test-model');
    expect(body?.response_format).toEqual({ type: 'json_object' });
    expect(body?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(lastPrompt()).toContain('Incident on Pod shop/');
    expect(lastPrompt()).toContain('dial tcp: lookup db.shop.svc: no such host');
    expect(lastPrompt()).toContain('BackOff (x42)');
  });

  it("asks the policy's model when the effect names one", async () => {
    await processor()(suggestJob({ model: 'policy-model' }), context());
    expect(llm.requests().at(-1)?.body.model).toBe('policy-model');
  });

  it.each([
    ['a slow answer', { kind: 'hang' } as const, /^no suggestion: no answer within 0\.3s$/],
    [
      'a rate limit',
      { kind: 'error', status: 429, retryAfterSeconds: 20 } as const,
      /^no suggestion: the endpoint is rate limiting \(HTTP 429\)$/,
    ],
    [
      'a server error',
      { kind: 'error', status: 500 } as const,
      /^no suggestion: the endpoint answered HTTP 500$/,
    ],
    [
      'an answer that is not JSON',
      { kind: 'answer', content: 'The pod is sad. Try restarting it?' } as const,
      /^no suggestion: the answer is not JSON$/,
    ],
    [
      'JSON of the wrong shape',
      {
        kind: 'answer',
        content: JSON.stringify({ probableCause: 'DNS', confidence: 7, suggestedSteps: 'restart' }),
      } as const,
      /^no suggestion: the answer does not have the expected shape \(confidence: .*suggestedSteps: .*\)$/,
    ],
    [
      'an empty answer',
      { kind: 'answer', content: '' } as const,
      /^no suggestion: the model answered with no text$/,
    ],
  ])(
    'leaves the incident untouched on %s: the job completes with "no suggestion"',
    async (_case, behaviour, outcome) => {
      llm.behave(behaviour);
      const before = llm.requests().length;
      const result = await processor({}, 300)(suggestJob(), context());
      expect(result.outcome).toMatch(outcome);
      expect(result.suggestion).toBeNull();
      expect(llm.requests()).toHaveLength(before + 1); // asked once: no retries
    },
  );

  it('tolerates a Markdown code fence around the JSON', async () => {
    llm.behave({ kind: 'answer', content: `\`\`\`json\n${GOOD_ANSWER}\n\`\`\`` });
    const result = await processor()(suggestJob(), context());
    expect(result.outcome).toMatch(/^suggested \(confidence 82%/);
  });

  it('bounds oversize evidence: the prompt fits, the most recent log lines and Events stay', async () => {
    const lines = Array.from(
      { length: 20_000 },
      (_, i) => `2026-11-01T10:00:${String(i % 60).padStart(2, '0')}Z line ${i} ${'x'.repeat(60)}`,
    );
    const events = Array.from({ length: 3_000 }, (_, i) => ({
      type: 'Warning',
      reason: 'BackOff',
      message: `event ${i}`,
      count: i,
    }));
    const object = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'api',
        namespace: 'shop',
        managedFields: [{ manager: 'kubectl', fieldsV1: { big: 'y'.repeat(50_000) } }],
      },
      spec: {
        containers: [
          { name: 'app', image: 'registry.example.com/app:v2', args: ['z'.repeat(200_000)] },
        ],
      },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'app',
            restartCount: 6,
            lastState: { terminated: { reason: 'Error', exitCode: 1 } },
          },
        ],
      },
    };
    const history = Array.from({ length: 50 }, (_, i) => ({
      at: 1_700_000_000_000 + i,
      decision: 'detected',
      reason: `decision ${i}`,
    }));
    await processor()(
      suggestJob({
        evidence: {
          summary: 'crash loop',
          object,
          events,
          history,
          logs: [
            { container: 'app', lines },
            { container: 'sidecar', lines: ['sidecar ready'] },
          ],
        },
      }),
      context(),
    );

    const body = llm.requests().at(-1)?.body;
    const chars = (body?.messages ?? []).reduce(
      (sum, m) => sum + (typeof m.content === 'string' ? m.content.length : 0),
      0,
    );
    expect(chars).toBeLessThanOrEqual(12_000);
    const prompt = lastPrompt();
    expect(prompt).toContain(lines.at(-1));
    expect(prompt).not.toContain(`line 0 ${'x'.repeat(60)}`);
    expect(prompt).toContain('event 2999');
    expect(prompt).not.toContain('message":"event 0"');
    expect(prompt).toContain('sidecar ready');
    expect(prompt).toContain('"restartCount":6'); // status comes before the huge spec
    expect(prompt).not.toContain('managedFields');
    expect(prompt).toMatch(/last \d+ of 20000 lines/);
  });

  it(`lets none of ${SECRET_SAMPLES.length} realistic secrets reach the endpoint, wherever they sit in the evidence`, async () => {
    expect(SECRET_SAMPLES.length).toBeGreaterThanOrEqual(30);
    const before = llm.requests().length;
    const texts = SECRET_SAMPLES.map((s) => s.text);
    const evidence = {
      summary: `crash loop; ${texts[0]}`,
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'api', namespace: 'shop', annotations: { note: texts[1] } },
        spec: {
          containers: [
            {
              name: 'app',
              args: texts.slice(2, 6),
              env: SECRET_SAMPLES.slice(6, 12).map((s, i) => ({
                name: `DB_PASSWORD_${i}`,
                value: s.secret,
              })),
            },
          ],
        },
        status: { message: texts[12] },
      },
      events: texts
        .slice(13, 20)
        .map((message) => ({ type: 'Warning', reason: 'Failed', message })),
      logs: [{ container: 'app', lines: texts.slice(20).flatMap((t) => t.split('\n')) }],
      history: [{ at: 1_700_000_000_000, decision: 'detected', reason: texts[20] ?? '' }],
    };
    const result = await processor()(suggestJob({ evidence, reason: texts.join(' ') }), context());
    expect(result.outcome).toMatch(/^suggested/);

    const received = llm.requests().slice(before);
    expect(received).toHaveLength(1);
    const raw = received.map((r) => r.raw).join('\n');
    for (const sample of SECRET_SAMPLES) {
      expect(raw, `${sample.name} reached the LLM`).not.toContain(
        JSON.stringify(sample.secret).slice(1, -1),
      );
      expect(raw, `${sample.name} reached the LLM`).not.toContain(sample.secret);
    }
    expect(raw).toContain('[REDACTED:');
  });

  it('applies configured extra patterns before anything leaves', async () => {
    const before = llm.requests().length;
    const redactor = createRedactor(['ACME-TKT-[0-9]{8}']);
    await processor({ redactor })(
      suggestJob({
        evidence: {
          summary: 'crash loop',
          logs: [{ container: 'app', lines: ['failing with ACME-TKT-12345678 in the header'] }],
        },
      }),
      context(),
    );
    const raw = llm
      .requests()
      .slice(before)
      .map((r) => r.raw)
      .join('\n');
    expect(raw).not.toContain('ACME-TKT-12345678');
    expect(raw).toContain('[REDACTED:custom]');
  });
});

describe('the suggestion in Slack', () => {
  it('appears in the incident thread and the parent, and a rerun does not ask the model again', async () => {
    const slack = await startHarness();
    try {
      const job = approvalJob('api-slack');
      const told = await slack.notifier.notify(job, 'notify-api-slack');
      const suggest: EffectJob = {
        ...suggestJob(),
        actorKey: job.actorKey,
        incidentId: job.incidentId,
        owner: job.owner,
      };
      const run = processor({ notifier: slack.notifier, store: slack.store });
      const ctx = context();

      const before = llm.requests().length;
      await run(suggest, ctx);
      await run(suggest, ctx); // a rerun of the same job
      expect(llm.requests()).toHaveLength(before + 1);

      const parent = slack.slack.messages().find((m) => m.ts === told.threadTs);
      expect(shownText(parent)).toContain('*Suggested cause*');
      expect(shownText(parent)).toContain('never executed');
      expect(shownText(parent)).toContain('DATABASE_URL points at a host that does not resolve');
      expect(Object.keys(buttonsOf(parent))).toContain('kube-remedy-approve'); // the incident is untouched
      const replies = slack.slack.messages().filter((m) => m.threadTs === told.threadTs);
      expect(replies.filter((m) => m.text.includes('Suggested cause'))).toHaveLength(1);
    } finally {
      await slack.close();
    }
  });

  it('says why there is none when the model fails', async () => {
    const slack = await startHarness();
    try {
      const job = approvalJob('api-nosuggestion');
      const told = await slack.notifier.notify(job, 'notify-api-nosuggestion');
      llm.behave({ kind: 'error', status: 429 });
      const suggest: EffectJob = {
        ...suggestJob(),
        actorKey: job.actorKey,
        incidentId: job.incidentId,
        owner: job.owner,
      };
      await processor({ notifier: slack.notifier, store: slack.store })(suggest, context());
      const parent = slack.slack.messages().find((m) => m.ts === told.threadTs);
      expect(shownText(parent)).toContain(
        'No suggested cause: the endpoint is rate limiting (HTTP 429)',
      );
      expect(shownText(parent)).toContain('Awaiting approval');
    } finally {
      await slack.close();
    }
  });
});

describe('a suggestion kept with the evidence', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'kube-remedy-suggestions-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  function keeping() {
    const suggestions = redisIncidentSuggestions(db.redis, db.prefix);
    const stores = { filesystem: new FilesystemEvidenceStore({ root }) };
    return { suggestions, suggestCause: keepingSuggestions(processor(), { suggestions, stores }) };
  }

  it("writes it into the incident's evidence folder and remembers it for later bundles", async () => {
    const { suggestions, suggestCause } = keeping();
    const job = {
      ...suggestJob({ evidenceTarget: { efs: { path: join(root, 'shop-team') } } }),
      step: 'approval-suggest',
    };
    await suggestCause(job, context());
    const name = job.actorKey.split('/')[2]!;
    const file = join(root, 'shop-team', 'shop', 'Pod', name, '1-1700000000000', 'suggestions');
    const kept = JSON.parse(readFileSync(join(file, 'approval-suggest.json'), 'utf8')) as {
      incidentId: string;
      suggestion: { probableCause: string };
    };
    expect(kept.incidentId).toBe(job.incidentId);
    expect(kept.suggestion.probableCause).toMatch(/DATABASE_URL points at a host/);
    expect(await suggestions.latest(job.incidentId)).toEqual(kept.suggestion);
  });

  it('keeps nothing when there is no suggestion, or when the policy keeps no evidence', async () => {
    const { suggestions, suggestCause } = keeping();
    llm.behave({ kind: 'error', status: 500 });
    const failed = suggestJob({ evidenceTarget: { efs: { path: join(root, 'quiet') } } });
    await suggestCause(failed, context());
    expect(await suggestions.latest(failed.incidentId)).toBeUndefined();
    expect(existsSync(join(root, 'quiet'))).toBe(false);

    llm.behave({ kind: 'answer', content: GOOD_ANSWER });
    const before = readdirSync(root, { recursive: true });
    const bare = suggestJob();
    await suggestCause(bare, context());
    // Remembered for the incident's bundles, written nowhere.
    expect(await suggestions.latest(bare.incidentId)).toMatchObject({ confidence: 0.82 });
    expect(readdirSync(root, { recursive: true })).toEqual(before);
  });
});
