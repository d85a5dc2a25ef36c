/**
 * Keys, certificates and tokens for one test control plane.
 *
 * - A CA and a serving certificate (SAN 127.0.0.1, localhost, kubernetes.default.svc…) made with
 *   Debian's `openssl` binary (fixed argument arrays, no shell); the API server, controller manager
 *   and scheduler all serve with it, so a client trusting the CA can reach each of them.
 * - The service-account signing key pair, made with node:crypto.
 * - Random bearer tokens for --token-auth-file.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  saPublicKey: string;
  saPrivateKey: string;
}

/** The in-cluster service IP of `kubernetes.default` for --service-cluster-ip-range 10.0.0.0/24. */
export const KUBERNETES_SERVICE_IP = '10.0.0.1';

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() || e.message}`, {
      cause: err,
    });
  }
}

export function generatePki(dir: string): Pki {
  const p = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.crt'),
      '-days',
      '3650',
      '-subj',
      '/CN=kube-remedy-test-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );

  const sans = [
    'IP:127.0.0.1',
    `IP:${KUBERNETES_SERVICE_IP}`,
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ];
  writeFileSync(
    p('serving.ext'),
    [
      `subjectAltName=${sans.join(',')}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'req',
      '-new',
      ...ec,
      '-keyout',
      p('serving.key'),
      '-out',
      p('serving.csr'),
      '-subj',
      '/CN=kube-apiserver',
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      p('serving.csr'),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      '3650',
      '-extfile',
      p('serving.ext'),
      '-out',
      p('serving.crt'),
    ],
    dir,
  );

  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(p('sa.pub'), sa.publicKey);
  writeFileSync(p('sa.key'), sa.privateKey, { mode: 0o600 });

  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('serving.crt'),
    servingKey: p('serving.key'),
    saPublicKey: p('sa.pub'),
    saPrivateKey: p('sa.key'),
  };
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export interface StaticTokenUser {
  token: string;
  user: string;
  uid: string;
  groups: string[];
}

/** Writes a --token-auth-file: `token,user,uid,"group1,group2"` per line. */
export function writeTokenFile(file: string, users: StaticTokenUser[]): void {
  const lines = users.map((u) => {
    const base = `${u.token},${u.user},${u.uid}`;
    return u.groups.length > 0 ? `${base},"${u.groups.join(',')}"` : base;
  });
  writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
}
