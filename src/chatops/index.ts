/**
 * ChatOps for the workers role, built from the configuration: the Slack client, the notifier
 * behind the `notify`/`escalate` processors, the interactions endpoint, and the `suggestCause`
 * processor when an LLM is configured.
 *
 *   const chatops = createChatOps(config, { redis, logger });
 *   processors = { ...processors, ...chatops?.processors };
 *   const endpoint = await chatops?.startEndpoint();   // POST /slack/events
 */
import { createLlmClient, type IncidentEvidence } from '../adapters/llm/index.ts';
import type { Redis } from '../adapters/redis.ts';
import { createSlackApi, type SlackApi } from '../adapters/slack/client.ts';
import type { Config } from '../config/index.ts';
import type { EffectJob } from '../effects/catalogue.ts';
import { createSuggestCauseProcessor } from '../effects/llm/index.ts';
import { createSlackProcessors } from '../effects/slack/index.ts';
import type { EffectProcessor } from '../effects/workers.ts';
import { createRedactor, type Redactor } from '../redaction/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { startChatOpsApp, type ChatOpsApp, type ChatOpsAppOptions } from './app.ts';
import type { PolicyLookup } from './model.ts';
import { createNotifier, type Notifier } from './notifier.ts';
import { ChatOpsStore } from './store.ts';

export {
  startChatOpsApp,
  timestampProblem,
  type ChatOpsApp,
  type ChatOpsAppOptions,
} from './app.ts';
export { createNotifier, type Notifier, type NotifierOptions } from './notifier.ts';
export { ChatOpsStore } from './store.ts';
export { signButtonToken, subjectRef, parseButtonToken, verifyButtonToken } from './tokens.ts';
export type { Approvers, ChatOpsPolicy, PolicyLookup, Subject, ThreadView } from './model.ts';

export interface ChatOpsDeps {
  /** Holds ChatOps records and receives control messages. */
  redis: Redis;
  logger: Logger;
  /** The Slack settings (channel, approvers) of a policy, for jobs that carry none. */
  policies?: PolicyLookup;
  /** The name of the policy governing an object, for `/kube-remedy trigger`. */
  policyNameFor?: ChatOpsAppOptions['policyNameFor'];
  /** Evidence for `suggestCause` jobs that carry none. */
  gatherEvidence?: (job: EffectJob, signal: AbortSignal) => Promise<IncidentEvidence>;
}

export interface ChatOps {
  slack: SlackApi | null;
  notifier: Notifier | null;
  /** `notify` and `escalate` (with Slack), `suggestCause` (with an LLM model). */
  processors: Record<string, EffectProcessor>;
  /** Starts the interactions endpoint; null without Slack. */
  startEndpoint: () => Promise<ChatOpsApp | null>;
  redactor: Redactor;
}

/** The extra redaction patterns of the configuration (one per line). */
export function configuredPatterns(config: Config): string[] {
  return (config.llm?.redactPatterns ?? '').split('\n').filter((line) => line.trim() !== '');
}

export function createChatOps(config: Config, deps: ChatOpsDeps): ChatOps {
  const redactor = createRedactor(configuredPatterns(config));
  const store = new ChatOpsStore(deps.redis, config.redis.keyPrefix);
  const processors: Record<string, EffectProcessor> = {};
  const slackConfig = config.slack;
  const { botToken, signingSecret, buttonSecret } = slackConfig ?? {};
  let slack: SlackApi | null = null;
  let notifier: Notifier | null = null;

  if (slackConfig !== undefined && botToken && signingSecret && buttonSecret) {
    slack = createSlackApi({
      token: botToken,
      apiUrl: slackConfig.apiUrl,
      logger: deps.logger.child({ component: 'slack' }),
    });
    notifier = createNotifier({
      slack,
      store,
      buttonSecret,
      buttonTtlMs: slackConfig.buttonTtl,
      redactor,
      ...(slackConfig.channel === undefined ? {} : { defaultChannel: slackConfig.channel }),
      ...(deps.policies === undefined ? {} : { policies: deps.policies }),
    });
    Object.assign(
      processors,
      createSlackProcessors(notifier, { evidenceLinkTemplate: config.evidence.linkTemplate }),
    );
  }

  const llmConfig = config.llm;
  if (llmConfig?.model !== undefined) {
    processors.suggestCause = createSuggestCauseProcessor({
      llm: createLlmClient({
        baseUrl: llmConfig.baseUrl,
        timeoutMs: llmConfig.timeout,
        ...(llmConfig.apiKey === undefined ? {} : { apiKey: llmConfig.apiKey }),
      }),
      model: llmConfig.model,
      maxPromptChars: llmConfig.maxPromptChars,
      redactor,
      store,
      ...(notifier === null ? {} : { notifier }),
      ...(deps.gatherEvidence === undefined ? {} : { gatherEvidence: deps.gatherEvidence }),
    });
  }

  const api = slack;
  const teller = notifier;
  return {
    slack,
    notifier,
    processors,
    redactor,
    startEndpoint: async () => {
      if (slackConfig === undefined || api === null || teller === null) return null;
      return startChatOpsApp({
        signingSecret: signingSecret as string,
        botToken: botToken as string,
        buttonSecret: buttonSecret as string,
        apiUrl: slackConfig.apiUrl,
        host: slackConfig.host,
        port: slackConfig.port,
        redis: deps.redis,
        keyPrefix: config.redis.keyPrefix,
        slack: api,
        store,
        notifier: teller,
        logger: deps.logger,
        ...(deps.policies === undefined ? {} : { policies: deps.policies }),
        ...(deps.policyNameFor === undefined ? {} : { policyNameFor: deps.policyNameFor }),
      });
    },
  };
}
