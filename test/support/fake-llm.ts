/**
 * A local OpenAI-compatible server: `POST /v1/chat/completions` in the Chat Completions wire
 * format (answers typed with the openai package's own `ChatCompletion`, errors as
 * `{error: {message, type, code}}` with the status the provider uses). It records every request
 * body exactly as received, so tests can assert that no secret ever reached it.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatCompletion, ChatCompletionCreateParams } from 'openai/resources/chat/completions';

export type LlmBehaviour =
  /** Answers with this assistant message content. */
  | { kind: 'answer'; content: string }
  /** Answers with an error status (429, 500…). */
  | { kind: 'error'; status: number; message?: string; retryAfterSeconds?: number }
  /** Never answers: the client must give up by itself. */
  | { kind: 'hang' };

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived. */
  raw: string;
  body: ChatCompletionCreateParams;
}

export interface FakeLlm {
  /** For the SDK's `baseURL`: ends in `/v1`. */
  baseUrl: string;
  requests: () => ReceivedRequest[];
  /** How the next requests are answered (the last one given stays in force). */
  behave: (behaviour: LlmBehaviour) => void;
  close: () => Promise<void>;
}

export const GOOD_ANSWER = JSON.stringify({
  probableCause:
    'The container exits at start-up because DATABASE_URL points at a host that does not resolve.',
  confidence: 0.82,
  suggestedSteps: [
    'Check the Service name in DATABASE_URL',
    'Run nslookup from a debug pod in the namespace',
  ],
});

function completion(model: string, content: string): ChatCompletion {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
  };
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

export async function startFakeLlm(
  initial: LlmBehaviour = { kind: 'answer', content: GOOD_ANSWER },
): Promise<FakeLlm> {
  const requests: ReceivedRequest[] = [];
  let behaviour = initial;
  const hanging = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
        send(response, 404, {
          error: { message: 'not found', type: 'invalid_request_error', code: null },
        });
        return;
      }
      let body: ChatCompletionCreateParams;
      try {
        body = JSON.parse(raw) as ChatCompletionCreateParams;
      } catch {
        send(response, 400, {
          error: { message: 'invalid JSON', type: 'invalid_request_error', code: null },
        });
        return;
      }
      requests.push({ headers: request.headers, raw, body });
      const now = behaviour;
      switch (now.kind) {
        case 'answer':
          send(response, 200, completion(body.model, now.content));
          return;
        case 'error':
          send(
            response,
            now.status,
            {
              error: {
                message: now.message ?? `error ${now.status}`,
                type: now.status === 429 ? 'requests' : 'server_error',
                code: now.status === 429 ? 'rate_limit_exceeded' : null,
              },
            },
            now.retryAfterSeconds === undefined
              ? {}
              : { 'retry-after': String(now.retryAfterSeconds) },
          );
          return;
        case 'hang':
          hanging.add(response);
          response.on('close', () => hanging.delete(response));
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests: () => [...requests],
    behave: (next) => {
      behaviour = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const response of hanging) response.destroy();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
