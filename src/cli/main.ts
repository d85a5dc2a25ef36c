/** Entry point: parses the command line and turns errors into exit statuses. */
import { CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { buildProgram } from './program.ts';

/** Exit status for bad usage or configuration, as conventional for command-line tools. */
export const EXIT_USAGE = 2;

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram({
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`kube-remedy: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they have already been printed.
      if (error.exitCode === 0) return 0;
      return EXIT_USAGE;
    }
    process.stderr.write(
      `kube-remedy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

process.exitCode = await main(process.argv);
