/** `kube-remedy config print` and `config reference`. */
import { stringify } from 'yaml';
import { CONFIG_FIELDS, displayConfig, type Config } from '../../config/index.ts';

export function printConfig(config: Config, format: 'yaml' | 'json'): string {
  const shown = displayConfig(config);
  return format === 'json' ? `${JSON.stringify(shown, null, 2)}\n` : stringify(shown);
}

/** The configuration reference as a Markdown table (the README embeds it). */
export function configReference(): string {
  const escape = (text: string): string => text.replaceAll('|', '\\|').replaceAll('*', '\\*');
  const rows = CONFIG_FIELDS.map((field) => {
    const allowed = field.values
      ? ` One of: ${field.values.map((v) => `\`${v}\``).join(', ')}.`
      : '';
    const secret = field.secret ? ' **Secret**: masked when printed or logged.' : '';
    const sources = [
      field.flag ? `\`${field.flag}\`` : '',
      ...(field.env ?? []).map((e) => `\`${e}\``),
    ]
      .filter(Boolean)
      .join(', ');
    const fallback = field.defaultText === undefined ? '—' : `\`${field.defaultText}\``;
    return `| \`${field.path}\` | ${fallback} | ${sources || '—'} | ${escape(field.description)}${allowed}${secret} |`;
  });
  return [
    '| field | default | flag, env | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
