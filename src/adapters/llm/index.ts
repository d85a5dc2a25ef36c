export {
  createLlmClient,
  LlmError,
  type ChatMessage,
  type LlmClient,
  type LlmErrorCode,
} from './client.ts';
export {
  buildPrompt,
  SYSTEM_PROMPT,
  type BuiltPrompt,
  type EvidenceEvent,
  type EvidenceHistoryEntry,
  type EvidenceLogs,
  type IncidentEvidence,
} from './prompt.ts';
export { parseSuggestion, suggestionSchema, type ParsedSuggestion } from './suggestion.ts';
