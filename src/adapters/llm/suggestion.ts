/**
 * The model's answer, read strictly: one JSON object (a Markdown code fence around it is
 * tolerated) with a probable cause, a confidence between 0 and 1 and a few steps. Anything else is
 * "no suggestion", with the reason in words. The text is redacted again on the way out: a model
 * can echo or invent secret-looking strings, and the suggestion goes to Slack and to logs.
 */
import { z } from 'zod';
import type { Redactor } from '../../redaction/index.ts';

export const suggestionSchema = z.object({
  probableCause: z.string().trim().min(3, 'probableCause is empty').max(2_000),
  confidence: z.number().min(0).max(1),
  suggestedSteps: z.array(z.string().trim().min(1).max(500)).max(20),
});

export interface ParsedSuggestion {
  probableCause: string;
  confidence: number;
  suggestedSteps: string[];
}

export type SuggestionParse =
  { ok: true; suggestion: ParsedSuggestion } | { ok: false; reason: string };

const FENCE = /^```(?:json)?\s*([\s\S]*?)\s*```$/i;

export function parseSuggestion(answer: string, redactor: Redactor): SuggestionParse {
  const trimmed = answer.trim();
  const body = FENCE.exec(trimmed)?.[1] ?? trimmed;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'the answer is not JSON' };
  }
  const parsed = suggestionSchema.safeParse(json);
  if (!parsed.success) {
    const what = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || 'answer'}: ${issue.message}`)
      .join('; ');
    return { ok: false, reason: `the answer does not have the expected shape (${what})` };
  }
  const { probableCause, confidence, suggestedSteps } = parsed.data;
  return {
    ok: true,
    suggestion: {
      probableCause: redactor.text(probableCause).text,
      confidence,
      suggestedSteps: suggestedSteps.slice(0, 6).map((step) => redactor.text(step).text),
    },
  };
}
