/**
 * Realistic secret shapes, shared by the redaction unit tables and the LLM integration test that
 * checks none of them reaches the server. Every value is fake, and each is assembled from pieces
 * at run time so that no literal token sits in the repository for secret scanners to flag.
 */

const j = (...parts: string[]): string => parts.join('');
/** A deterministic run of characters from an alphabet, so values look real and never change. */
function run(length: number, alphabet: string, seed: number): string {
  let out = '';
  let state = seed;
  for (let i = 0; i < length; i += 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out += alphabet[state % alphabet.length];
  }
  return out;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;

function pem(label: string, seed: number): string {
  const lines = [0, 1, 2, 3].map((i) => run(64, B64, seed + i));
  return [
    `-----BEGIN ${label}-----`,
    ...lines,
    `${run(24, B64, seed + 9)}==`,
    `-----END ${label}-----`,
  ].join('\n');
}

function jwt(seed: number): string {
  const header = Buffer.from('{"alg":"RS256","kid":"k1"}').toString('base64url');
  const payload = Buffer.from(
    '{"iss":"kubernetes/serviceaccount","sub":"system:serviceaccount:shop:web"}',
  ).toString('base64url');
  return `${header}.${payload}.${run(86, B64URL, seed)}`;
}

export interface SecretSample {
  name: string;
  /** Where the secret sits, as it would appear in a log line, an event or an object. */
  text: string;
  /** The part that must not survive redaction. */
  secret: string;
  /** The kind the placeholder names. */
  kind: string;
}

function sample(
  name: string,
  kind: string,
  secret: string,
  around: (s: string) => string,
): SecretSample {
  return { name, kind, secret, text: around(secret) };
}

export const SECRET_SAMPLES: readonly SecretSample[] = [
  sample(
    'AWS access key id',
    'aws-access-key',
    j('AK', 'IA', run(16, UPPER, 1)),
    (s) => `using credentials ${s} for s3`,
  ),
  sample(
    'AWS secret key in a credentials file',
    'aws-secret-key',
    run(40, B64, 2),
    (s) => `aws_secret_access_key = ${s}`,
  ),
  sample(
    'AWS secret key in the environment',
    'aws-secret-key',
    run(40, B64, 3),
    (s) => `AWS_SECRET_ACCESS_KEY=${s}`,
  ),
  sample(
    'AWS temporary access key id',
    'aws-access-key',
    j('AS', 'IA', run(16, UPPER, 4)),
    (s) => `"AccessKeyId": "${s}"`,
  ),
  sample(
    'Slack bot token',
    'slack-token',
    j('xo', 'xb-', run(12, '0123456789', 5), '-', run(13, '0123456789', 6), '-', run(24, ALNUM, 7)),
    (s) => `slack client init token=${s}`,
  ),
  sample(
    'Slack user token',
    'slack-token',
    j('xo', 'xp-', run(12, '0123456789', 8), '-', run(12, '0123456789', 9), '-', run(32, HEX, 10)),
    (s) => `posting as ${s}`,
  ),
  sample(
    'Slack app-level token',
    'slack-token',
    j('xa', 'pp-1-A0', run(9, UPPER, 11), '-', run(13, '0123456789', 12), '-', run(64, HEX, 13)),
    (s) => `socket mode with ${s}`,
  ),
  sample(
    'Slack incoming webhook',
    'slack-webhook',
    j(
      'https://hooks.sl',
      'ack.com/services/T',
      run(8, UPPER, 14),
      '/B',
      run(8, UPPER, 15),
      '/',
      run(24, ALNUM, 16),
    ),
    (s) => `alerting to ${s} failed: 500`,
  ),
  sample(
    'GitHub personal access token',
    'github-token',
    j('gh', 'p_', run(36, ALNUM, 17)),
    (s) => `git clone https://github.com/org/repo (token ${s})`,
  ),
  sample(
    'GitHub fine-grained token',
    'github-token',
    j('github', '_pat_', run(22, ALNUM, 18), '_', run(59, ALNUM, 19)),
    (s) => `GH_AUTH ${s}`,
  ),
  sample(
    'GitHub app installation token',
    'github-token',
    j('gh', 's_', run(36, ALNUM, 20)),
    (s) => `installation token ${s} expires in 1h`,
  ),
  sample(
    'GitLab personal access token',
    'gitlab-token',
    j('gl', 'pat-', run(20, B64URL, 21)),
    (s) => `PRIVATE-TOKEN header ${s}`,
  ),
  sample('Kubernetes ServiceAccount token (JWT)', 'jwt', jwt(22), (s) => `projected token ${s}`),
  sample(
    'Authorization: Bearer header',
    'authorization',
    `Bearer ${run(40, B64URL, 23)}`,
    (s) => `> GET /api/v1/pods\n> Authorization: ${s}\n`,
  ),
  sample(
    'Authorization: Basic header',
    'authorization',
    `Basic ${Buffer.from(`admin:${run(12, ALNUM, 24)}`).toString('base64')}`,
    (s) => `authorization: ${s}`,
  ),
  sample(
    'Bearer credential in a curl command',
    'bearer-token',
    `${run(8, LOWER, 25)}.${run(30, B64URL, 26)}`,
    (s) => `curl -s -H "X-Auth: Bearer ${s}" http://api`,
  ),
  sample(
    'RSA private key',
    'private-key',
    pem('RSA PRIVATE KEY', 27),
    (s) => `mounted key:\n${s}\n`,
  ),
  sample('EC private key', 'private-key', pem('EC PRIVATE KEY', 31), (s) => s),
  sample(
    'OpenSSH private key',
    'private-key',
    pem('OPENSSH PRIVATE KEY', 35),
    (s) => `id_ed25519:\n${s}`,
  ),
  sample('encrypted PKCS#8 private key', 'private-key', pem('ENCRYPTED PRIVATE KEY', 39), (s) => s),
  sample(
    'private key JSON-escaped in a GCP service account',
    'private-key',
    pem('PRIVATE KEY', 43).replaceAll('\n', '\\n'),
    (s) =>
      `{"type":"service_account","private_key":"${s}\\n","client_email":"x@p.iam.gserviceaccount.com"}`,
  ),
  sample(
    'PostgreSQL connection string',
    'url-credentials',
    `S3cr3t!${run(10, ALNUM, 47)}`,
    (s) => `DATABASE_URL=postgres://app:${s}@db.shop.svc:5432/app`,
  ),
  sample(
    'MongoDB SRV connection string',
    'url-credentials',
    run(18, ALNUM, 48),
    (s) => `connecting to mongodb+srv://reporting:${s}@cluster0.example.net/db`,
  ),
  sample(
    'Redis URL with a password only',
    'url-credentials',
    run(24, ALNUM, 49),
    (s) => `dial redis://:${s}@redis-master:6379/0: timeout`,
  ),
  sample(
    'AMQP URL',
    'url-credentials',
    run(16, ALNUM, 50),
    (s) => `amqp://orders:${s}@rabbitmq:5672/`,
  ),
  sample(
    'ADO.NET connection string password',
    'secret',
    `Pa55w0rd!${run(6, ALNUM, 51)}`,
    (s) => `Server=tcp:db,1433;User Id=sa;Password=${s};Encrypt=true`,
  ),
  sample(
    'Azure storage account key',
    'secret',
    `${run(86, B64, 52)}==`,
    (s) =>
      `DefaultEndpointsProtocol=https;AccountName=logs;AccountKey=${s};EndpointSuffix=core.windows.net`,
  ),
  sample(
    'S3 pre-signed URL signature',
    'url-query-secret',
    run(64, HEX, 53),
    (s) => `GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=${s}`,
  ),
  sample(
    'Google API key',
    'google-api-key',
    j('AI', 'za', run(35, B64URL, 54)),
    (s) => `maps?key-id ${s}`,
  ),
  sample(
    'Google OAuth access token',
    'google-api-key',
    j('ya', '29.', run(60, B64URL, 55)),
    (s) => `gcloud token ${s}`,
  ),
  sample(
    'OpenAI project key',
    'llm-api-key',
    j('s', 'k-proj-', run(48, B64URL, 56), run(20, ALNUM, 57)),
    (s) => `OPENAI key ${s} rejected`,
  ),
  sample(
    'Anthropic API key',
    'llm-api-key',
    j('s', 'k-ant-api03-', run(80, B64URL, 58), run(20, ALNUM, 59)),
    (s) => `llm client: ${s}`,
  ),
  sample(
    'Stripe live secret key',
    'stripe-key',
    j('s', 'k_li', 've_', run(24, ALNUM, 60)),
    (s) => `charging with ${s}`,
  ),
  sample(
    'npm token',
    'npm-token',
    j('np', 'm_', run(36, ALNUM, 61)),
    (s) => `//registry.npmjs.org/:_authToken ${s}`,
  ),
  sample(
    'SendGrid API key',
    'sendgrid-key',
    j('S', 'G.', run(22, B64URL, 62), '.', run(43, B64URL, 63)),
    (s) => `mailer ${s}`,
  ),
  sample(
    'kubeadm bootstrap token',
    'kubernetes-bootstrap-token',
    `${run(6, LOWER, 64)}.${run(16, LOWER, 65)}`,
    (s) => `kubeadm join 10.0.0.1:6443 --discovery ${s} --ca-hash x`,
  ),
  sample(
    'JSON password field with spaces',
    'secret',
    'correct horse battery staple',
    (s) => `{"user":"svc","password":"${s}"}`,
  ),
  sample(
    'YAML password',
    'secret',
    run(14, ALNUM, 66),
    (s) => `spring:\n  datasource:\n    password: ${s}\n`,
  ),
  sample(
    'environment variable DB_PASSWORD',
    'secret',
    run(20, ALNUM, 67),
    (s) => `env: DB_PASSWORD=${s} APP_ENV=prod`,
  ),
  sample(
    'OAuth client secret in a form body',
    'url-query-secret',
    run(32, ALNUM, 68),
    (s) => `client_id=web&client_secret=${s}`,
  ),
  sample(
    'password on a command line',
    'secret',
    run(16, ALNUM, 69),
    (s) => `mysqladmin --password ${s} status`,
  ),
  sample(
    'Cookie header',
    'cookie',
    `session=${run(40, ALNUM, 70)}; csrf=${run(20, ALNUM, 71)}`,
    (s) => `Cookie: ${s}\n`,
  ),
  sample(
    'docker config auth',
    'secret',
    Buffer.from(`robot:${run(20, ALNUM, 72)}`).toString('base64'),
    (s) => `{"auths":{"ghcr.io":{"auth":"${s}"}}}`,
  ),
  sample('Datadog API key', 'secret', run(32, HEX, 73), (s) => `DD_API_KEY=${s}`),
  sample(
    'api_key in single quotes',
    'secret',
    `${run(12, ALNUM, 74)} ${run(12, ALNUM, 75)}`,
    (s) => `api_key: '${s}'`,
  ),
];

/** Text that looks technical but holds no secret: it must come through unchanged. */
export const NOT_SECRETS: readonly { name: string; text: string }[] = [
  { name: 'an image digest', text: `image: nginx@sha256:${run(64, HEX, 100)}` },
  { name: 'a git commit id', text: `deployed commit ${run(40, HEX, 101)} to production` },
  { name: 'a pod UID', text: 'uid: 3f2a9c1e-8b7d-4e6f-a5c4-2b1d0e9f8a7c' },
  { name: 'the name of a Secret', text: 'secretName: db-creds' },
  {
    name: 'a missing Secret in an Event',
    text: 'MountVolume.SetUp failed for volume "db-password" : secret "db-password" not found',
  },
  { name: 'a secretKeyRef', text: '{"secretKeyRef":{"name":"db","key":"password"}}' },
  { name: 'a boolean token setting', text: 'automountServiceAccountToken: false' },
  { name: 'a count of tokens', text: 'tokens: 12' },
  { name: 'a public certificate', text: pem('CERTIFICATE', 102) },
  { name: 'a public key', text: pem('PUBLIC KEY', 106) },
  { name: 'prose about passwords', text: 'password reset requested for user bob' },
  { name: 'prose about bearer tokens', text: 'request rejected: Bearer token missing' },
  {
    name: 'an image reference',
    text: 'Back-off pulling image "registry.example.com/team/app:v1.2.3"',
  },
  { name: 'a pod-template-hash', text: 'pod-template-hash: 7d9f8c6b5d' },
  {
    name: 'a pod whose name starts with sk-',
    text: 'Pod shop/sk-payments-worker-7d9f8c6b5d-x2x4z is crash-looping',
  },
  { name: 'an e-mail address', text: 'approver: alice@example.com' },
  { name: 'an IP address and port', text: 'dial tcp 10.96.0.10:53: i/o timeout' },
  { name: 'a short auth status', text: 'auth=ok user=bob' },
  { name: 'a masked value', text: 'password: ********' },
  { name: 'a resourceVersion', text: 'resourceVersion: "48213"' },
  {
    name: 'a URL without credentials',
    text: 'GET https://api.example.com/v1/items?page=2&limit=50',
  },
  { name: 'a Kubernetes ConfigMap name', text: 'configMapRef: kube-root-ca.crt' },
];
