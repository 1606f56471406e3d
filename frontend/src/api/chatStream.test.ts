import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAuth } from '../stores/auth';
import { fedStream, json, mockFetch, sseResponse } from '../test/helpers';
import { streamChat, type StreamResult } from './chatStream';

const done = {
  user_message: { id: 'u1' },
  assistant_message: { id: 'a1' },
  finish_reason: 'stop',
};

function start(signal = new AbortController().signal, idleTimeoutMs?: number) {
  const deltas: string[] = [];
  const result = streamChat({ path: '/conversations/c1/messages', body: { content: 'hi' }, signal, idleTimeoutMs }, { onDelta: (t) => deltas.push(t) });
  return { deltas, result };
}

beforeEach(() => {
  localStorage.clear();
  useAuth.setState({ session: { accessToken: 'A1', refreshToken: 'R1' }, user: null, endReason: null });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('streamChat', () => {
  it('posts the turn and follows deltas, usage and done, in pieces split anywhere', async () => {
    const s = fedStream();
    const calls = mockFetch(() => sseResponse(s.stream));
    const usage = { prompt_tokens: 3, cached_prompt_tokens: 0, completion_tokens: 2, reasoning_tokens: 0, cost_usd: '0.000010', estimated: false };
    const { deltas, result } = start();
    const wire = `event: delta\ndata: {"text":"Hel"}\n\n: ping\n\nevent: delta\ndata: {"text":"lo\\nworld"}\n\nevent: usage\ndata: ${JSON.stringify(usage)}\n\nevent: done\ndata: ${JSON.stringify(done)}\n\n`;
    for (let i = 0; i < wire.length; i += 5) s.push(wire.slice(i, i + 5));
    s.close();
    const r = await result;
    expect(deltas.join('')).toBe('Hello\nworld');
    expect(r).toEqual({ outcome: 'done', done, usage });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ url: '/api/v1/conversations/c1/messages', method: 'POST', auth: 'Bearer A1', body: { content: 'hi' } });
  });

  it('reports an error event with its quota details', async () => {
    const s = fedStream();
    mockFetch(() => sseResponse(s.stream));
    const { deltas, result } = start();
    s.push('event: delta\ndata: {"text":"part"}\n\n');
    s.push('event: error\ndata: {"code":"quota_exceeded","message":"Daily tokens used up","quota":{"quota":"daily","limit":"tokensPerDay","used":"1000","max":"1000","remaining":"0","reset_at":"2030-01-01T00:00:00Z"}}\n\n');
    s.close();
    expect(await result).toEqual({
      outcome: 'error',
      error: { code: 'quota_exceeded', message: 'Daily tokens used up', quota: { quota: 'daily', limit: 'tokensPerDay', used: '1000', max: '1000', remaining: '0', reset_at: '2030-01-01T00:00:00Z' } },
    });
    expect(deltas).toEqual(['part']);
  });

  it('reports a refusal before the stream (JSON error with status) without retrying', async () => {
    const calls = mockFetch(() => json(429, { error: { code: 'quota_exceeded', message: 'Too many requests', quota: { quota: 'rpm', limit: 'requestsPerMinute', used: '10', max: '10', remaining: '0' } } }));
    const { result } = start();
    expect(await result).toEqual({ outcome: 'error', status: 429, error: { code: 'quota_exceeded', message: 'Too many requests', quota: { quota: 'rpm', limit: 'requestsPerMinute', used: '10', max: '10', remaining: '0' } } });
    expect(calls).toHaveLength(1);
  });

  it('treats a stream that ends without done as interrupted and never sends again', async () => {
    const s = fedStream();
    const calls = mockFetch(() => sseResponse(s.stream));
    const { result } = start();
    s.push('event: delta\ndata: {"text":"half"}\n\n');
    s.close();
    expect(await result).toEqual({ outcome: 'interrupted' });
    expect(calls).toHaveLength(1);
  });

  it('treats a dropped connection as interrupted and never sends again', async () => {
    const calls = mockFetch(() => Promise.reject(new TypeError('Failed to fetch')));
    const { result } = start();
    expect((await result).outcome).toBe('error');
    expect(calls).toHaveLength(1);
  });

  it('aborts: cancels the body read and resolves as aborted', async () => {
    const s = fedStream();
    mockFetch(() => sseResponse(s.stream));
    const ctrl = new AbortController();
    const { deltas, result } = start(ctrl.signal);
    s.push('event: delta\ndata: {"text":"partial"}\n\n');
    await vi.waitFor(() => expect(deltas).toEqual(['partial']));
    ctrl.abort();
    expect(await result).toEqual({ outcome: 'aborted' });
    await s.cancelled;
  });

  it('does not even send when aborted before starting', async () => {
    const calls = mockFetch(() => json(500, {}));
    const ctrl = new AbortController();
    ctrl.abort();
    expect(await start(ctrl.signal).result).toEqual({ outcome: 'aborted' });
    expect(calls).toHaveLength(0);
  });

  it('keeps a slow stream alive on heartbeats and cuts it after silence', async () => {
    vi.useFakeTimers();
    const s = fedStream();
    mockFetch(() => sseResponse(s.stream));
    let settled: StreamResult | null = null;
    const { result } = start(undefined, 1000);
    void result.then((r) => (settled = r));
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(800);
      s.push(': ping\n\n');
    }
    expect(settled).toBeNull();
    await vi.advanceTimersByTimeAsync(1100);
    expect(await result).toEqual({ outcome: 'interrupted' });
    await s.cancelled;
  });

  it('refreshes the session once on 401 and retries the send with the new token', async () => {
    const s = fedStream();
    const calls = mockFetch((c) => {
      if (c.url.endsWith('/auth/refresh')) return json(200, { access_token: 'A2', refresh_token: 'R2', token_type: 'Bearer', expires_in: 60, refresh_expires_in: 600, user: { id: 'x' } });
      return c.auth === 'Bearer A1' ? json(401, { error: { code: 'unauthorized', message: 'expired' } }) : sseResponse(s.stream);
    });
    const { result } = start();
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    s.push(`event: done\ndata: ${JSON.stringify(done)}\n\n`);
    s.close();
    expect((await result).outcome).toBe('done');
    expect(calls.map((c) => [c.url, c.auth])).toEqual([
      ['/api/v1/conversations/c1/messages', 'Bearer A1'],
      ['/api/v1/auth/refresh', null],
      ['/api/v1/conversations/c1/messages', 'Bearer A2'],
    ]);
    expect(calls[1]?.body).toEqual({ refresh_token: 'R1' });
  });

  it('rejects a response that is not an event stream', async () => {
    mockFetch(() => json(200, { user_message: {} }));
    expect(await start().result).toMatchObject({ outcome: 'error', error: { code: 'bad_stream' } });
  });
});
