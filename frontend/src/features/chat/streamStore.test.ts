import { beforeEach, describe, expect, it, vi } from 'vitest';
import { useAuth } from '../../stores/auth';
import { fedStream, json, mockFetch, sseResponse } from '../../test/helpers';
import { failureOf, STOP_GRACE_MS, useChat } from './streamStore';

const done = { user_message: { id: 'u1' }, assistant_message: { id: 'a1' }, finish_reason: 'stop' };

beforeEach(() => {
  useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
  useChat.setState({ streams: {}, failures: {} });
});

describe('chat store', () => {
  it('shows the pending turn and the growing answer, and settles before the stream disappears', async () => {
    const s = fedStream();
    mockFetch(() => sseResponse(s.stream));
    const seenAtSettle: (string | undefined)[] = [];
    const p = useChat.getState().start('c1', { kind: 'send', content: 'hello' }, () => {
      seenAtSettle.push(useChat.getState().streams.c1?.answer);
    });
    expect(useChat.getState().streams.c1).toMatchObject({ userText: 'hello', answer: '' });
    s.push('event: delta\ndata: {"text":"Hi"}\n\n');
    await vi.waitFor(() => expect(useChat.getState().streams.c1?.answer).toBe('Hi'));
    s.push('event: delta\ndata: {"text":" there"}\n\n');
    await vi.waitFor(() => expect(useChat.getState().streams.c1?.answer).toBe('Hi there'));
    s.push(`event: done\ndata: ${JSON.stringify(done)}\n\n`);
    s.close();
    expect((await p).outcome).toBe('done');
    expect(seenAtSettle).toEqual(['Hi there']);
    expect(useChat.getState().streams.c1).toBeUndefined();
    expect(useChat.getState().failures.c1).toBeUndefined();
  });

  it('stop asks the server to stop, and the stream ends with the answer it kept', async () => {
    const s = fedStream();
    const calls = mockFetch((c) => {
      if (c.url === '/api/v1/conversations/c1/stop') {
        s.push('event: usage\ndata: {"prompt_tokens":3,"cached_prompt_tokens":0,"completion_tokens":1,"reasoning_tokens":0,"cost_usd":"0","estimated":false}\n\n');
        s.push(`event: done\ndata: ${JSON.stringify({ ...done, finish_reason: 'stopped' })}\n\n`);
        s.close();
        return json(204, null);
      }
      return sseResponse(s.stream);
    });
    const p = useChat.getState().start('c1', { kind: 'send', content: 'long' });
    s.push('event: delta\ndata: {"text":"part"}\n\n');
    await vi.waitFor(() => expect(useChat.getState().streams.c1?.answer).toBe('part'));
    useChat.getState().stop('c1');
    expect(useChat.getState().streams.c1?.stopping).toBe(true);
    const result = await p;
    expect(result.outcome === 'done' && result.done.finish_reason).toBe('stopped');
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['POST', '/api/v1/conversations/c1/messages'],
      ['POST', '/api/v1/conversations/c1/stop'],
    ]);
    expect(useChat.getState().streams.c1).toBeUndefined();
    expect(useChat.getState().failures.c1).toBeUndefined();
  });

  it('stop cuts the connection when the stop request fails', async () => {
    const s = fedStream();
    mockFetch((c) => (c.url.endsWith('/stop') ? json(503, { error: { code: 'unavailable', message: 'down' } }) : sseResponse(s.stream)));
    const p = useChat.getState().start('c1', { kind: 'send', content: 'long' });
    s.push('event: delta\ndata: {"text":"part"}\n\n');
    await vi.waitFor(() => expect(useChat.getState().streams.c1?.answer).toBe('part'));
    useChat.getState().stop('c1');
    expect((await p).outcome).toBe('aborted');
    await s.cancelled;
    expect(useChat.getState().failures.c1).toBeUndefined();
  });

  it('stop cuts the connection when the stream goes on after the grace period', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const s = fedStream();
      mockFetch((c) => (c.url.endsWith('/stop') ? json(204, null) : sseResponse(s.stream)));
      const p = useChat.getState().start('c1', { kind: 'send', content: 'long' });
      s.push('event: delta\ndata: {"text":"part"}\n\n');
      await vi.waitFor(() => expect(useChat.getState().streams.c1?.answer).toBe('part'));
      useChat.getState().stop('c1');
      await vi.advanceTimersByTimeAsync(STOP_GRACE_MS - 1);
      expect(useChat.getState().streams.c1?.stopping).toBe(true);
      await vi.advanceTimersByTimeAsync(1);
      expect((await p).outcome).toBe('aborted');
    } finally {
      vi.useRealTimers();
    }
  });

  it('records a refused send with the text to put back', async () => {
    mockFetch(() => json(429, { error: { code: 'quota_exceeded', message: 'over', quota: { quota: 'daily', limit: 'tokensPerDay', used: '5', max: '5', remaining: '0', reset_at: '2030-01-01T00:00:00Z' } } }));
    await useChat.getState().start('c1', { kind: 'send', content: 'keep me' });
    expect(useChat.getState().failures.c1).toEqual({
      kind: 'error',
      code: 'quota_exceeded',
      message: 'over',
      quota: { quota: 'daily', limit: 'tokensPerDay', used: '5', max: '5', remaining: '0', reset_at: '2030-01-01T00:00:00Z' },
      unsentText: 'keep me',
    });
  });

  it('streams regenerate and edit to their own paths, hiding the replaced messages', async () => {
    const s = fedStream();
    const calls = mockFetch(() => sseResponse(s.stream));
    void useChat.getState().start('c1', { kind: 'regenerate', messageId: 'm1' });
    expect(useChat.getState().streams.c1).toMatchObject({ replaceFrom: 'm1' });
    expect(useChat.getState().streams.c1?.userText).toBeUndefined();
    void useChat.getState().start('c1', { kind: 'edit', messageId: 'm2', content: 'new' });
    expect(useChat.getState().streams.c1).toMatchObject({ replaceFrom: 'm2', userText: 'new' });
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(calls.map((c) => [c.url, c.body])).toEqual([
      ['/api/v1/conversations/c1/messages/m1/regenerate', {}],
      ['/api/v1/conversations/c1/messages/m2/edit', { content: 'new' }],
    ]);
  });
});

describe('failureOf', () => {
  it('keeps the text only when the server refused before streaming', () => {
    const what = { kind: 'send', content: 'x' } as const;
    expect(failureOf({ outcome: 'error', error: { code: 'e', message: 'm' } }, what)?.unsentText).toBeUndefined();
    expect(failureOf({ outcome: 'error', status: 422, error: { code: 'e', message: 'm' } }, what)?.unsentText).toBe('x');
    expect(failureOf({ outcome: 'interrupted' }, what)).toEqual({ kind: 'interrupted' });
    expect(failureOf({ outcome: 'aborted' }, what)).toBeNull();
  });
});
