/** Test helpers: fake fetch answers, streams fed chunk by chunk, and rendering inside the app's providers. */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { createMemoryRouter, RouterProvider, type RouteObject } from 'react-router';
import { vi } from 'vitest';

/** json builds a JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

/** A stream the test feeds by hand: push text chunks, then close or fail it. */
export interface FedStream {
  stream: ReadableStream<Uint8Array>;
  push: (text: string | Uint8Array) => void;
  close: () => void;
  /** cancelled resolves when the reader cancels the stream (the client aborted). */
  cancelled: Promise<void>;
}

export function fedStream(): FedStream {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  let onCancel!: () => void;
  const cancelled = new Promise<void>((r) => {
    onCancel = r;
  });
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      ctrl = c;
    },
    cancel() {
      onCancel();
    },
  });
  return {
    stream,
    push: (t) => ctrl.enqueue(typeof t === 'string' ? enc.encode(t) : t),
    close: () => ctrl.close(),
    cancelled,
  };
}

/** sse builds an event-stream response over a body. */
export function sseResponse(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

/** One recorded call of the fake fetch. */
export interface Call {
  url: string;
  method: string;
  auth: string | null;
  body: unknown;
  signal: AbortSignal | null;
}

/**
 * mockFetch installs a fetch that answers with `handler` and records each call. The handler sees the call
 * and returns a Response (or a promise of one).
 */
export function mockFetch(handler: (call: Call) => Response | Promise<Response>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : null;
    const call: Call = {
      url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      method: init?.method ?? 'GET',
      auth: headers.get('Authorization'),
      body,
      signal: init?.signal ?? null,
    };
    calls.push(call);
    if (call.signal?.aborted === true) throw new DOMException('aborted', 'AbortError');
    return handler(call);
  });
  return calls;
}

/** renderWithProviders renders an element at a path inside a fresh query client and a memory router. */
export function renderWithProviders(element: ReactElement, opts: { path?: string; routes?: RouteObject[] } = {}) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const routes: RouteObject[] = [{ path: opts.path ?? '/', element }, ...(opts.routes ?? [])];
  const router = createMemoryRouter(routes, { initialEntries: [opts.path ?? '/'] });
  const result = render(
    <QueryClientProvider client={qc}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { ...result, qc, router };
}
