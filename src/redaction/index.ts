export {
  compilePatterns,
  createRedactor,
  mergeFindings,
  placeholder,
  redactText,
  redactValue,
  type ExtraPattern,
  type RedactedText,
  type RedactedValue,
  type RedactionFinding,
  type Redactor,
} from './redact.ts';
export { REDACTION_PATTERNS, SECRET_KEY_NAME, type RedactionPattern } from './patterns.ts';
