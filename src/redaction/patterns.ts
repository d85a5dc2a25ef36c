/**
 * What counts as a secret in free text, as data: one row per shape, applied in order (the most
 * specific shapes first, so a finding is named by what it is; the generic `key = value` rows
 * last). Every row is a global regular expression. When it has a named group `secret`, only that
 * group is replaced and the groups `pre` and `post` are kept, so `password=hunter2` reads
 * `password=[REDACTED:secret]` and a URL keeps its host.
 *
 * Deliberately NOT redacted (they are identifiers people need to diagnose an incident, not
 * secrets): image digests (`sha256:` + 64 hex), git commit ids, UUIDs (pod UIDs), resource
 * versions, IP addresses, e-mail addresses, names of Secrets (`secretName: db-creds`), public
 * certificates (`BEGIN CERTIFICATE`) and public keys. The tables in
 * test/unit/redaction/redact.test.ts hold both lists.
 *
 * Patterns avoid nested quantifiers and start generic keys only at a word boundary, so every row
 * runs in time linear in the text.
 */

export interface RedactionPattern {
  /** Shown in the placeholder: `[REDACTED:<kind>]`. Lower-case words joined by `-`. */
  kind: string;
  /** What the row catches, in words. */
  description: string;
  /** Global. With a named group `secret`, only that group is replaced. */
  pattern: RegExp;
}

/** Names of keys whose values are secrets, at the END of a key: `DB_PASSWORD`, `apiKey`. */
const SECRET_KEY_WORDS =
  'password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret[_-]?key|private[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|credentials?|auth';

/**
 * A key that ends with a secret word, followed by `=` (spaces allowed around it) or `:` (right
 * after the key, as YAML and JSON write it: `volume "db-password" : secret` in an Event is prose).
 */
const KEY = `(?<![\\w.-])["']?[\\w.-]{0,64}?(?:${SECRET_KEY_WORDS})["']?(?:\\s*=\\s*|:\\s*)`;

/** Values that say nothing secret even after a secret-looking key. */
const HARMLESS_VALUE =
  '(?!\\[REDACTED)(?!(?:true|false|null|nil|none|yes|no|\\*+|<[^>\\s]*>)(?![^\\s"\',;&}\\]]))';

export const REDACTION_PATTERNS: readonly RedactionPattern[] = [
  {
    kind: 'private-key',
    description: 'PEM or OpenSSH or PGP private key blocks, BEGIN to END',
    pattern:
      /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g,
  },
  {
    kind: 'private-key',
    description: 'a private key block cut before its END line (a truncated log, say)',
    pattern:
      /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:(?:\s|\\n|\\r)+[A-Za-z0-9+/=:-]+)*/g,
  },
  {
    kind: 'jwt',
    description: 'JSON Web Tokens (Kubernetes ServiceAccount tokens, OIDC id tokens…)',
    pattern: /\beyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/g,
  },
  {
    kind: 'slack-token',
    description: 'Slack bot, user, app, refresh and configuration tokens',
    pattern: /\b(?:xox[abposrce]|xapp)-[A-Za-z0-9-]{10,}/g,
  },
  {
    kind: 'slack-webhook',
    description: 'Slack incoming-webhook and workflow URLs',
    pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]+/g,
  },
  {
    kind: 'github-token',
    description: 'GitHub personal, OAuth, app and refresh tokens, fine-grained PATs',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})/g,
  },
  {
    kind: 'gitlab-token',
    description: 'GitLab personal, project, deploy, runner and agent tokens',
    pattern: /\bgl(?:pat|ptt|dt|rt|cbt|oas|soat|ft|imt|agent)-[A-Za-z0-9_-]{20,}/g,
  },
  {
    kind: 'aws-access-key',
    description: 'AWS access key ids (long-term and temporary)',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
  },
  {
    kind: 'aws-secret-key',
    description: 'AWS secret access keys after their usual names',
    pattern:
      /(?<pre>aws[_-]?secret[_-]?(?:access[_-]?)?key["']?\s*[:=]\s*["']?)(?<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
  },
  {
    kind: 'google-api-key',
    description: 'Google API keys and OAuth access tokens',
    pattern: /\b(?:AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,})/g,
  },
  {
    kind: 'llm-api-key',
    description: 'OpenAI and Anthropic style `sk-` API keys',
    // A run of 16 letters and digits tells a key from a name like `sk-payments-worker-7d9f8`.
    pattern:
      /\bsk-(?:proj-|svcacct-|admin-|ant-)?(?=[A-Za-z0-9_-]*?[A-Za-z0-9]{16})[A-Za-z0-9_-]{20,}/g,
  },
  {
    kind: 'stripe-key',
    description: 'Stripe secret and restricted keys (publishable keys are public)',
    pattern: /\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}/g,
  },
  {
    kind: 'npm-token',
    description: 'npm access tokens',
    pattern: /\bnpm_[A-Za-z0-9]{36}\b/g,
  },
  {
    kind: 'sendgrid-key',
    description: 'SendGrid API keys',
    pattern: /\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g,
  },
  {
    kind: 'kubernetes-bootstrap-token',
    description: 'kubeadm bootstrap tokens (`abcdef.0123456789abcdef`)',
    pattern: /(?<![\w.-])[a-z0-9]{6}\.[a-z0-9]{16}(?![\w.-])/g,
  },
  {
    kind: 'url-credentials',
    description: 'the password in `scheme://user:password@host` (connection strings included)',
    pattern:
      /(?<pre>\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:@/]*:)(?<secret>(?!\[REDACTED)[^\s@/]+)(?=@)/gi,
  },
  {
    kind: 'url-query-secret',
    description: 'secrets in URL query strings: tokens, keys, pre-signed URL signatures',
    pattern:
      /(?<pre>[?&](?:access_token|id_token|refresh_token|token|api_key|apikey|key|sig|signature|password|passwd|secret|client_secret|code|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential)=)(?<secret>(?!\[REDACTED)[^&\s"'#]+)/gi,
  },
  {
    kind: 'authorization',
    description: 'Authorization and Proxy-Authorization header values, whatever the scheme',
    pattern:
      /(?<pre>\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?<secret>(?!\[REDACTED)(?:(?:Bearer|Basic|Token|Digest|Negotiate|AWS4-HMAC-SHA256)\s+)?[^\s"',;]+)/gi,
  },
  {
    kind: 'bearer-token',
    description: 'a `Bearer` credential outside a header (it must hold a digit or symbol)',
    pattern:
      /(?<pre>\bBearer\s+)(?<secret>(?!\[REDACTED)(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{12,})/gi,
  },
  {
    kind: 'cookie',
    description: 'Cookie and Set-Cookie header values',
    pattern: /(?<pre>\b(?:set-)?cookie["']?\s*:\s*["']?)(?<secret>(?!\s|\[REDACTED)[^\n"']+)/gi,
  },
  {
    kind: 'secret',
    description: 'a double-quoted value after a secret-looking key (`"password": "a b c"`)',
    pattern: new RegExp(
      `(?<pre>${KEY}")(?<secret>${HARMLESS_VALUE}(?:[^"\\\\\\n]|\\\\.)+)(?<post>")`,
      'gi',
    ),
  },
  {
    kind: 'secret',
    description: "a single-quoted value after a secret-looking key (`password: 'a b c'`)",
    pattern: new RegExp(`(?<pre>${KEY}')(?<secret>${HARMLESS_VALUE}[^'\\n]+)(?<post>')`, 'gi'),
  },
  {
    kind: 'secret',
    description: 'an unquoted value after a secret-looking key (`DB_PASSWORD=hunter2`)',
    pattern: new RegExp(`(?<pre>${KEY})(?<secret>${HARMLESS_VALUE}[^\\s"',;&}\\]]{3,})`, 'gi'),
  },
  {
    kind: 'secret',
    description: 'a value after a secret-looking command-line flag (`--password hunter2`)',
    pattern:
      /(?<pre>(?<![\w-])--?(?:password|passwd|token|secret|api-key|access-key|client-secret)\s+)(?<secret>(?!\[REDACTED)[^\s-][^\s]*)/gi,
  },
];

/** Property names whose values `redactValue` replaces whole (the end of the name decides). */
export const SECRET_KEY_NAME = new RegExp(`(?:${SECRET_KEY_WORDS}|authorization|cookie)$`, 'i');
