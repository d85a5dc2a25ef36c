/**
 * The workers role: the integrations. It runs the effect jobs of Slack, GitOps, tickets,
 * evidence and the LLM, serves Slack's interactions endpoint, and watches open pull requests.
 * Only this role holds integration tokens; it acts on the cluster with read rights alone
 * (evidence bundles).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ConnectionOptions } from 'bullmq';
import { createGitHubClient } from '../adapters/github/client.ts';
import { GitHubCodeHost } from '../adapters/github/code-host.ts';
import { GitHubIssueTracker } from '../adapters/github/issues.ts';
import { createGitLabClient } from '../adapters/gitlab/client.ts';
import { GitLabCodeHost } from '../adapters/gitlab/code-host.ts';
import { createJiraClient, JiraTracker } from '../adapters/jira/tracker.ts';
import type { Redis } from '../adapters/redis.ts';
import { FilesystemEvidenceStore } from '../adapters/storage/filesystem.ts';
import { createS3Client, S3EvidenceStore } from '../adapters/storage/s3.ts';
import { createChatOps, type ChatOpsApp } from '../chatops/index.ts';
import { kubernetesPolicyLookup } from '../chatops/kubernetes-policies.ts';
import type { Config } from '../config/index.ts';
import { evidenceProcessors } from '../effects/evidence/index.ts';
import { keepingSuggestions, redisIncidentSuggestions } from '../effects/evidence/suggestions.ts';
import { gitopsProcessors } from '../effects/gitops/index.ts';
import { ticketProcessors } from '../effects/tickets/index.ts';
import { ActionLog } from '../effects/action-log.ts';
import { startEffectWorkers, type EffectProcessor } from '../effects/workers.ts';
import type { CodeHost } from '../gitops/code-host.ts';
import { startProposalWatcher } from '../gitops/watcher.ts';
import type { Logger } from '../telemetry/index.ts';
import type { RuntimeMetrics } from '../telemetry/runtime-metrics.ts';
import type { TicketTracker } from '../tickets/tracker.ts';

export const WORKERS_OWNER = 'workers';

export interface WorkersDeps {
  config: Config;
  kc: KubeConfig | undefined;
  redis: Redis;
  bullConnection: ConnectionOptions;
  logger: Logger;
  metrics: RuntimeMetrics;
}

export interface RunningWorkers {
  ready: () => boolean;
  stop: () => Promise<void>;
  /** The Slack endpoint, when Slack is configured. */
  slack: ChatOpsApp | null;
  /** Which integrations are configured, for the start-up log and tests. */
  configured: string[];
}

export async function startWorkers(deps: WorkersDeps): Promise<RunningWorkers> {
  const { config, redis, logger, metrics } = deps;
  const log = logger.child({ role: 'workers' });
  const configured: string[] = [];

  const chatops = createChatOps(config, {
    redis,
    logger: log,
    ...(deps.kc === undefined ? {} : { policies: kubernetesPolicyLookup(deps.kc, log) }),
  });
  if (chatops.slack) configured.push('slack');
  if (chatops.processors['suggestCause']) configured.push('llm');

  const hosts: Partial<Record<'github' | 'gitlab', CodeHost>> = {};
  const trackers: Partial<Record<'jira' | 'github', TicketTracker>> = {};
  if (config.github?.token) {
    const octokit = createGitHubClient({
      token: config.github.token,
      baseUrl: config.github.baseUrl,
      logger: log,
    });
    hosts.github = new GitHubCodeHost(octokit);
    trackers.github = new GitHubIssueTracker(octokit);
    configured.push('github');
  }
  if (config.gitlab?.token) {
    hosts.gitlab = new GitLabCodeHost(
      createGitLabClient({ token: config.gitlab.token, baseUrl: config.gitlab.baseUrl }),
    );
    configured.push('gitlab');
  }
  const jira = config.jira;
  if (jira?.baseUrl && jira.email && jira.apiToken) {
    trackers.jira = new JiraTracker({
      client: createJiraClient({
        baseUrl: jira.baseUrl,
        email: jira.email,
        apiToken: jira.apiToken,
      }),
      baseUrl: jira.baseUrl,
      issueType: jira.issueType,
      resolveTransition: jira.resolveTransition,
    });
    configured.push('jira');
  }
  const s3 = config.evidence.s3;
  const stores = {
    ...(s3.region || s3.endpoint
      ? {
          s3: new S3EvidenceStore({
            client: createS3Client(s3),
            serverSideEncryption: s3.serverSideEncryption,
            kmsKeyId: s3.kmsKeyId,
          }),
        }
      : {}),
    ...(config.evidence.efsRoot
      ? { filesystem: new FilesystemEvidenceStore({ root: config.evidence.efsRoot }) }
      : {}),
  };
  if (stores.s3) configured.push('evidence-s3');
  if (stores.filesystem) configured.push('evidence-efs');

  const linkTemplate = config.evidence.linkTemplate;
  const suggestions = redisIncidentSuggestions(redis, config.redis.keyPrefix);
  const suggestCause = chatops.processors['suggestCause'];
  const processors: Record<string, EffectProcessor> = {
    ...chatops.processors,
    ...(suggestCause === undefined
      ? {}
      : { suggestCause: keepingSuggestions(suggestCause, { suggestions, stores }) }),
    ...gitopsProcessors({
      hosts,
      redis,
      keyPrefix: config.redis.keyPrefix,
      kc: deps.kc,
      linkTemplate,
    }),
    ...ticketProcessors({ trackers, linkTemplate }),
    ...(deps.kc
      ? evidenceProcessors({
          kc: deps.kc,
          stores,
          bounds: { maxLines: config.evidence.maxLogLines, maxBytes: config.evidence.maxLogBytes },
          linkTemplate,
          suggestions,
        })
      : {}),
  };
  const workers = startEffectWorkers({
    connection: deps.bullConnection,
    redis,
    keyPrefix: config.redis.keyPrefix,
    integrations: ['slack', 'gitops', 'tickets', 'evidence', 'llm'],
    owner: WORKERS_OWNER,
    processors,
    actionLog: new ActionLog(redis, config.redis.keyPrefix),
    logger: log,
    onOutcome: (integration, kind, outcome) =>
      metrics.effectOutcomes.inc({ integration, kind, outcome }),
  });
  const watcher =
    Object.keys(hosts).length > 0
      ? startProposalWatcher({
          redis,
          keyPrefix: config.redis.keyPrefix,
          hosts,
          logger: log,
          intervalMs: config.gitops.pollInterval,
        })
      : undefined;
  const slack = await chatops.startEndpoint();
  log.info(
    { integrations: configured, slackEndpoint: slack?.url },
    configured.length === 0 ? 'workers started with no integration configured' : 'workers started',
  );
  return {
    slack,
    configured,
    ready: () => true,
    stop: async () => {
      await slack?.close();
      await watcher?.stop();
      await workers.close();
    },
  };
}
