/** One Octokit per process, pointed at github.com or a GitHub Enterprise Server by base URL. */
import { Octokit } from '@octokit/rest';
import type { Logger } from '../../telemetry/index.ts';

export interface GitHubClientOptions {
  token: string;
  /** REST API root. Default: https://api.github.com (GHES: https://HOST/api/v3). */
  baseUrl?: string;
  logger?: Logger;
}

export function createGitHubClient(options: GitHubClientOptions): Octokit {
  const log = options.logger?.child({ adapter: 'github' });
  return new Octokit({
    auth: options.token,
    baseUrl: options.baseUrl ?? 'https://api.github.com',
    userAgent: 'kube-remedy',
    log: {
      debug: (message: string) => log?.debug(message),
      info: (message: string) => log?.debug(message),
      warn: (message: string) => log?.warn(message),
      error: (message: string) => log?.error(message),
    },
  });
}

export type { Octokit };

/** Splits `owner/name` (GitHub repositories never nest). */
export function splitRepo(repo: string): { owner: string; repo: string } {
  const [owner, name, ...rest] = repo.split('/');
  if (owner === undefined || name === undefined || rest.length > 0 || !owner || !name) {
    throw new Error(`"${repo}" is not a GitHub repository (expected owner/name)`);
  }
  return { owner, repo: name };
}
