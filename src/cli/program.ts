/** The `kube-remedy` command line. */
import { Command, Option } from 'commander';
import { ROLES } from '../config/index.ts';
import { createLogger } from '../telemetry/index.ts';
import { registerAnalyzeCommand } from './commands/analyze.ts';
import { configReference, printConfig } from './commands/config.ts';
import { registerRecordCommand } from './commands/record.ts';
import { registerSimulateCommand } from './commands/simulate.ts';
import { configFromOptions, withConfigOptions } from './config-options.ts';
import { packageVersion } from './version.ts';

export interface ProgramIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const SOURCES_HELP = `
Configuration comes from, lowest precedence first: built-in defaults, the file given by
--config (or KUBE_REMEDY_CONFIG), environment variables, then flags. See the effective result,
secrets masked, with "kube-remedy config print"; every field: "kube-remedy config reference".`;

export function buildProgram(io: ProgramIO): Command {
  const program = new Command('kube-remedy')
    .description(
      'Detects unhealthy pods, nodes and deployments and remediates them safely under\n' +
        'AutoRemediationPolicy rules, with people in the loop where a policy asks for it.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(true)
    .exitOverride();

  withConfigOptions(
    program
      .command('run')
      .description('run the components of one role until SIGTERM')
      .addHelpText(
        'after',
        `
Roles:
  agent       one per node (DaemonSet): pods on its node and the node itself
  controller  Deployments, ReplicaSets and policies; scaling; leader-elected
  workers     integrations (Slack, GitOps, tickets, evidence, LLM); holds their secrets
  all         everything in one process (local runs, tests, small clusters)
${SOURCES_HELP}

Every role serves /healthz, /readyz and /metrics on --http-host:--http-port.

Examples:
  kube-remedy run --role all --redis-url redis://127.0.0.1:6379
  NODE_NAME=worker-1 kube-remedy run --role agent`,
      ),
  ).action(async (options: Record<string, unknown>) => {
    const config = configFromOptions(options);
    const logger = createLogger({ level: config.log.level, format: config.log.format });
    // Loaded on use: the roles pull in every client library, which other commands need not pay for.
    const { runUntilSignalled } = await import('./commands/run.ts');
    try {
      process.exitCode = await runUntilSignalled(config, logger);
    } finally {
      // A start-up that failed or never finished, or a stop past its time-out, may still hold
      // the event loop (a server, a connection): it must not keep the process alive.
      setTimeout(() => process.exit(process.exitCode ?? 1), 500).unref();
    }
  });

  const configCommand = program.command('config').description('show the configuration');
  withConfigOptions(
    configCommand
      .command('print')
      .description('print the effective configuration, secrets masked')
      .addOption(
        new Option('-o, --output <format>', 'output format')
          .choices(['yaml', 'json'])
          .default('yaml'),
      )
      .addHelpText('after', SOURCES_HELP),
  ).action((options: Record<string, unknown>) => {
    const config = configFromOptions(options);
    io.stdout(printConfig(config, options['output'] === 'json' ? 'json' : 'yaml'));
  });
  configCommand
    .command('reference')
    .description(
      'print every configuration field with its default, flag and environment variables (Markdown)',
    )
    .action(() => io.stdout(configReference()));

  withConfigOptions(
    program
      .command('queues')
      .description(
        'show effect queues (depth, recent failures), budgets in use and nodes being drained',
      )
      .addOption(
        new Option('-o, --output <format>', 'output format')
          .choices(['text', 'json'])
          .default('text'),
      ),
  ).action(async (options: Record<string, unknown>) => {
    const config = configFromOptions(options);
    const { queuesCommand } = await import('./commands/queues.ts');
    io.stdout(await queuesCommand(config, options['output'] === 'json' ? 'json' : 'text'));
  });

  registerAnalyzeCommand(program, io);
  registerSimulateCommand(program, io);
  registerRecordCommand(program, io);

  program
    .command('version')
    .description('print the version of kube-remedy and of the Node.js running it')
    .action(() => io.stdout(`kube-remedy ${packageVersion()} (node ${process.versions.node})\n`));

  program.addHelpText(
    'after',
    `
Roles: ${ROLES.join(', ')} (see "kube-remedy run --help").
Exit status: 0 success, 1 failure, 2 bad usage or configuration.`,
  );
  return program;
}
