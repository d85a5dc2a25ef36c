/**
 * Any OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, vLLM, Ollama…) through the `openai`
 * SDK, asked for one JSON answer. The SDK's own retries are off: a suggestion is worth one try,
 * and the time it may take is bounded by the caller's signal and our timeout. Failures become an
 * `LlmError` whose `code` says what went wrong, so callers never match on messages.
 */
import {
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAI,
  RateLimitError,
} from 'openai';

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

export interface CompletionRequest {
  model: string;
  messages: ChatMessage[];
}

export interface LlmClient {
  /** The text of the first choice. */
  complete: (request: CompletionRequest, signal?: AbortSignal) => Promise<string>;
}

export type LlmErrorCode =
  'timeout' | 'rate-limited' | 'http' | 'unreachable' | 'empty-answer' | 'aborted';

export class LlmError extends Error {
  readonly code: LlmErrorCode;
  /** The HTTP status, for `http` and `rate-limited`. */
  readonly status?: number;

  constructor(code: LlmErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, { cause: options?.cause });
    this.name = 'LlmError';
    this.code = code;
    if (options?.status !== undefined) this.status = options.status;
  }
}

export interface LlmClientOptions {
  /** Base URL, e.g. `https://api.openai.com/v1` or `http://ollama:11434/v1`. */
  baseUrl: string;
  /** Unset for endpoints that need none. */
  apiKey?: string;
  /** Longest one completion may take. */
  timeoutMs: number;
}

export function createLlmClient(options: LlmClientOptions): LlmClient {
  const sdk = new OpenAI({
    // Always explicit: the SDK would otherwise read OPENAI_BASE_URL and OPENAI_API_KEY itself.
    baseURL: options.baseUrl,
    apiKey: options.apiKey ?? 'unused',
    timeout: options.timeoutMs,
    maxRetries: 0,
  });
  const seconds = `${Math.round(options.timeoutMs / 100) / 10}s`;

  return {
    complete: async (request, signal) => {
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
      try {
        const completion = await sdk.chat.completions.create(
          {
            model: request.model,
            messages: request.messages,
            response_format: { type: 'json_object' },
          },
          { signal: combined },
        );
        const content = completion.choices[0]?.message.content;
        if (typeof content !== 'string' || content.trim() === '') {
          throw new LlmError('empty-answer', 'the model answered with no text');
        }
        return content;
      } catch (error) {
        if (error instanceof LlmError) throw error;
        if (signal?.aborted === true) {
          throw new LlmError('aborted', 'the request was cancelled', { cause: error });
        }
        if (
          error instanceof APIConnectionTimeoutError ||
          (error instanceof APIUserAbortError && timeout.aborted)
        ) {
          throw new LlmError('timeout', `no answer within ${seconds}`, { cause: error });
        }
        if (error instanceof RateLimitError) {
          throw new LlmError('rate-limited', 'the endpoint is rate limiting (HTTP 429)', {
            cause: error,
            status: 429,
          });
        }
        if (error instanceof APIError && typeof error.status === 'number') {
          const status: number = error.status;
          throw new LlmError('http', `the endpoint answered HTTP ${status}`, {
            cause: error,
            status,
          });
        }
        const why = error instanceof Error ? error.message : String(error);
        throw new LlmError('unreachable', `the endpoint could not be reached: ${why}`, {
          cause: error,
        });
      }
    },
  };
}
