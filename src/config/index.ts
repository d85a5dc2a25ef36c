export { CONFIG_FIELDS, SECRET_PATHS, type ConfigField } from './fields.ts';
export {
  ConfigError,
  loadConfig,
  CONFIG_FILE_ENV,
  type ConfigProblem,
  type ConfigSources,
} from './load.ts';
export { displayConfig, maskSecret, MASK } from './display.ts';
export { configSchema, ROLES, type Config, type ConfigInput, type Role } from './schema.ts';
