/**
 * Command-line options generated from the configuration fields that declare a flag, so `--help`,
 * the README and the parser always describe the same options.
 */
import { Option, type Command } from 'commander';
import { CONFIG_FIELDS, ConfigError, loadConfig, type Config } from '../config/index.ts';

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function helpFor(field: (typeof CONFIG_FIELDS)[number]): string {
  const parts = [field.description];
  if (field.values) parts.push(`One of: ${field.values.join(', ')}.`);
  if (field.defaultText !== undefined) parts.push(`Default: ${field.defaultText}.`);
  if (field.env?.length) parts.push(`Env: ${field.env.join(', ')}.`);
  return parts.join(' ');
}

/** Adds `--config` and every configuration flag to a command. */
export function withConfigOptions(command: Command): Command {
  command.addOption(
    new Option('-c, --config <file>', 'YAML or JSON configuration file. Env: KUBE_REMEDY_CONFIG.'),
  );
  for (const field of CONFIG_FIELDS) {
    if (!field.flag) continue;
    if (field.kind === 'boolean') {
      command.addOption(new Option(field.flag, helpFor(field)));
      continue;
    }
    const placeholder = field.kind === 'number' ? 'number' : field.path.split('.').pop();
    command.addOption(new Option(`${field.flag} <${placeholder}>`, helpFor(field)));
  }
  return command;
}

/** Parses the configuration from a command's options, the environment and the file. */
export function configFromOptions(options: Record<string, unknown>): Config {
  const flags: Record<string, string | boolean> = {};
  for (const field of CONFIG_FIELDS) {
    if (!field.flag) continue;
    const value = options[camel(field.flag)];
    if (typeof value === 'string' || typeof value === 'boolean') flags[field.path] = value;
  }
  const file = typeof options['config'] === 'string' ? options['config'] : undefined;
  return loadConfig(file === undefined ? { flags } : { flags, file });
}

export { ConfigError };
