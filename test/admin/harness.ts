// Serves the test helper's admin app (where the nodes' RED.httpAdmin routes live) on a free port, and calls it.
import http from 'http';
import type { AddressInfo } from 'net';
import type { RequestListener } from 'http';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const raw = require('node-red-node-test-helper') as { _httpAdmin: RequestListener & ExpressApp; _events: NodeJS.EventEmitter };

interface ExpressApp {
  _router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
}

/** The admin app of the flow the helper loaded last. */
export function helperAdminApp(): RequestListener {
  return raw._httpAdmin;
}

/** How many routes of the helper's admin app answer this method and path pattern. */
export function routeCount(method: string, path: string): number {
  return raw._httpAdmin._router.stack.filter((layer) => layer.route?.path === path && layer.route.methods[method]).length;
}

export interface Reply {
  status: number;
  body: unknown;
}

export interface AdminClient {
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** A POST with this exact body text and content type. */
  postRaw(path: string, text: string, contentType: string, headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

/** Calls an express app (a request listener) over HTTP on a free port of 127.0.0.1. */
export async function serve(app: RequestListener): Promise<AdminClient> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Reply> => {
    const res = await fetch(base + path, { method, body, headers });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: kept as text for the assertion to show
    }
    return { status: res.status, body: parsed };
  };
  return {
    get: (path, headers = {}) => call('GET', path, undefined, headers),
    post: (path, body, headers = {}) =>
      body === undefined
        ? call('POST', path, undefined, headers)
        : call('POST', path, JSON.stringify(body), { 'content-type': 'application/json', ...headers }),
    postRaw: (path, text, contentType, headers = {}) => call('POST', path, text, { 'content-type': contentType, ...headers }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The admin app of the flow the helper loaded last (the helper makes a new one per load). */
export function serveHelperAdmin(): Promise<AdminClient> {
  return serve(raw._httpAdmin);
}

/** Every RED.comms.publish from now on, as topic and data. */
export function commsMessages(): { messages: Array<{ topic: string; data: unknown }>; stop(): void } {
  const messages: Array<{ topic: string; data: unknown }> = [];
  const listener = (m: { topic: string; data: unknown }): void => {
    messages.push({ topic: m.topic, data: m.data });
  };
  raw._events.on('comms', listener);
  return { messages, stop: () => raw._events.off('comms', listener) };
}
