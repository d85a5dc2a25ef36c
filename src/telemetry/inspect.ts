/**
 * `--inspect`: live actors in the Stately inspector. Actors send their inspection events through
 * @statelyai/inspect's WebSocket inspector to a relay served here on loopback only (the
 * package's own server listens on every interface and opens a browser); a person reaches it with
 * `kubectl port-forward` and opens the page it serves, which embeds the Stately inspector.
 * Only actors whose key matches the filter are sent, and every snapshot and event is redacted
 * first, so secrets never leave the process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent, Observer } from 'xstate';
import { WebSocket, WebSocketServer } from 'ws';
import { redactValue } from '../redaction/index.ts';
import type { Logger } from './logger.ts';

export interface InspectorOptions {
  /** Loopback address to listen on. Default: 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Glob over actor keys (`Pod/shop/*`, `Node/*`); `*` matches any characters. */
  filter: string;
  logger: Logger;
  /** The inspector UI the page embeds. */
  uiUrl?: string;
}

export interface RunningInspector {
  /** The relay's WebSocket URL. */
  url: string;
  /** The observer for an actor key, or undefined when the filter excludes it. */
  observerFor: (key: string) => Observer<InspectionEvent> | undefined;
  stop: () => Promise<void>;
}

export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${escaped}$`);
}

function page(wsUrl: string, uiUrl: string): string {
  // The same bridge as @statelyai/inspect's server: relay WebSocket messages into the UI iframe.
  return `<!DOCTYPE html><html><head><title>kube-remedy actors</title>
<style>*{margin:0;padding:0}html,body{height:100%}iframe{width:100%;height:100%;border:none}</style></head>
<body><iframe id="inspector" src="${uiUrl}"></iframe><script>
const iframe=document.getElementById('inspector');const buffer=[];let connected=false;
window.addEventListener('message',(e)=>{if(e.data&&e.data.type==='@statelyai.connected'){connected=true;buffer.forEach((m)=>iframe.contentWindow.postMessage(m,'*'));buffer.length=0;}});
const ws=new WebSocket(${JSON.stringify(wsUrl)}.replace('127.0.0.1',location.hostname).replace(/:\\d+$/,':'+location.port));
ws.onmessage=(e)=>{const d=JSON.parse(e.data);if(connected)iframe.contentWindow.postMessage(d,'*');else buffer.push(d);};
</script></body></html>`;
}

export async function startInspector(options: InspectorOptions): Promise<RunningInspector> {
  const host = options.host ?? '127.0.0.1';
  let wsUrl = '';
  const server: Server = createServer((_request, response) => {
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end(page(wsUrl, options.uiUrl ?? 'https://stately.ai/inspect'));
  });
  const relay = new WebSocketServer({ server });
  const recent: string[] = [];
  relay.on('connection', (socket) => {
    // A viewer that connects late still sees the actors' latest events.
    for (const message of recent) socket.send(message);
    socket.on('message', (data: Buffer) => {
      const message = data.toString();
      recent.push(message);
      if (recent.length > 500) recent.shift();
      for (const client of relay.clients) {
        if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  wsUrl = `ws://${host}:${port}`;
  const matches = globToRegExp(options.filter);
  const inspector = createWebSocketInspector({
    url: wsUrl,
    sanitizeContext: (context) => redactValue(context).value,
    sanitizeEvent: (event) => redactValue(event).value,
  });
  options.logger.info(
    { url: `http://${host}:${port}`, filter: options.filter },
    'inspector listening; port-forward to it and open the page',
  );
  return {
    url: wsUrl,
    observerFor: (key) => (matches.test(key) ? inspector.inspect : undefined),
    stop: async () => {
      inspector.stop();
      for (const client of relay.clients) client.terminate();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
