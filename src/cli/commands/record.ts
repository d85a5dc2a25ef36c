/**
 * `kube-remedy record`: writes the Pods, Nodes, Deployments and policies of a live cluster, and
 * every change to them, to a JSON Lines file for `kube-remedy simulate --replay`. Progress goes
 * to standard error; SIGINT or SIGTERM ends the recording early, cleanly.
 */
import { createWriteStream } from 'node:fs';
import { Option, type Command } from 'commander';
import { parseDuration } from '../../util/duration.ts';
import type { ProgramIO } from '../program.ts';

interface RecordCliOptions {
  kubeconfig?: string;
  namespace?: string;
  agentNamespace: string;
  duration: string;
  output: string;
}

export function registerRecordCommand(program: Command, io: ProgramIO): Command {
  return program
    .command('record')
    .description(
      'record Pods, Nodes, Deployments and policies of a live cluster, and their changes, for simulate --replay',
    )
    .requiredOption('-o, --output <file>', 'the recording to write (JSON Lines)')
    .option(
      '--kubeconfig <file>',
      'kubeconfig file (default: KUBECONFIG, the in-cluster account, or ~/.kube/config)',
    )
    .option(
      '-n, --namespace <namespace>',
      'record Pods, Deployments and policies of this namespace only (Nodes are always recorded)',
    )
    .addOption(
      new Option(
        '--agent-namespace <namespace>',
        "kube-remedy's namespace, whose policies govern Nodes",
      ).default('kube-remedy-system'),
    )
    .option('--duration <duration>', 'how long to record (SIGINT ends it earlier)', '10m')
    .addHelpText(
      'after',
      `
One JSON object per line: a header, then {"at", "type": "upsert" | "delete", "object"} for every
watch event (at = when it was received, ms since the epoch), then a footer. Needs get, list and
watch on what it records.

Examples:
  kube-remedy record --namespace shop --duration 1h -o shop.jsonl
  kube-remedy simulate --replay shop.jsonl --policy examples/policies/crashloop-restart-with-approval.yaml`,
    )
    .action(async function (this: Command, options: RecordCliOptions) {
      const duration = parseDuration(options.duration);
      if (!duration.ok || duration.ms <= 0) {
        this.error(
          `error: --duration: ${duration.ok ? 'expected a duration longer than 0' : duration.reason}`,
          {
            exitCode: 2,
            code: 'kube-remedy.record.input',
          },
        );
        return;
      }
      const [{ loadKubeConfig }, { record }, { createLogger }] = await Promise.all([
        import('../../adapters/kubernetes/client.ts'),
        import('../../simulate/record.ts'),
        import('../../telemetry/index.ts'),
      ]);
      let kc;
      try {
        kc = loadKubeConfig({ kubeconfig: options.kubeconfig });
      } catch (error) {
        this.error(`error: ${error instanceof Error ? error.message : String(error)}`, {
          exitCode: 2,
          code: 'kube-remedy.record.kubeconfig',
        });
        return;
      }
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const output = createWriteStream(options.output);
      const tty = process.stderr.isTTY;
      try {
        await record({
          kc,
          namespace: options.namespace,
          agentNamespace: options.agentNamespace,
          durationMs: duration.ms,
          output,
          logger: createLogger({ level: 'warn' }),
          signal: abort.signal,
          progress: (line, kind) => {
            if (kind === 'tick') {
              if (tty) io.stderr(`\r${line}\u001b[K`);
              return;
            }
            io.stderr(`${tty ? '\r' : ''}${line}${tty ? '\u001b[K' : ''}\n`);
          },
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await new Promise<void>((resolve, reject) =>
          output.end((error?: Error | null) => (error ? reject(error) : resolve())),
        );
      }
    });
}
