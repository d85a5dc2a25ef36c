#!/usr/bin/env node
// Runs the TypeScript sources in a checkout (Node >= 22.18 strips types itself) and the compiled
// code in an installed package or image, which ship dist/ and no src/.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `kube-remedy: needs Node.js 22.18 or newer (this is ${process.versions.node}). ` +
      'In a checkout, run it through npm (npx kube-remedy, npm run ...), which uses the bundled Node 24.\n',
  );
  process.exit(1);
}
const source = new URL('../src/cli/main.ts', import.meta.url);
await import(
  existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href
);
