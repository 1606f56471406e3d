import { describe, expect, it } from 'vitest';
import { readSSE, SSEParser, type SSEEvent } from './sse';
import { fedStream } from '../test/helpers';

function parse(chunks: string[]): { events: SSEEvent[]; comments: string[] } {
  const events: SSEEvent[] = [];
  const comments: string[] = [];
  const p = new SSEParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) });
  for (const c of chunks) p.push(c);
  return { events, comments };
}

describe('SSEParser', () => {
  it('reads named events with JSON data', () => {
    const { events } = parse(['event: delta\ndata: {"text":"Hi"}\n\n']);
    expect(events).toEqual([{ event: 'delta', data: '{"text":"Hi"}' }]);
  });

  it('gives the same events however the bytes are split', () => {
    const text = 'event: delta\ndata: {"text":"a"}\n\nevent: delta\r\ndata: {"text":"b"}\r\n\r\n: ping\n\nevent: done\rdata: {}\r\r';
    const whole = parse([text]).events;
    expect(whole.map((e) => e.event)).toEqual(['delta', 'delta', 'done']);
    for (let size = 1; size <= 7; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(parse(chunks).events).toEqual(whole);
    }
  });

  it('does not dispatch twice when CR and LF arrive in different chunks', () => {
    const { events } = parse(['data: x\r', '\n', '\r', '\n']);
    expect(events).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('joins multi-line data with newlines and strips one leading space only', () => {
    const { events } = parse(['data: line one\ndata:  two\ndata:three\n\n']);
    expect(events[0]?.data).toBe('line one\n two\nthree');
  });

  it('reports heartbeats as comments and dispatches nothing for them', () => {
    const { events, comments } = parse([': ping\n\n', ': ping\n']);
    expect(events).toEqual([]);
    expect(comments).toEqual(['ping', 'ping']);
  });

  it('ignores an event without data and resets the event name after dispatch', () => {
    const { events } = parse(['event: usage\n\ndata: plain\n\n']);
    expect(events).toEqual([{ event: 'message', data: 'plain' }]);
  });

  it('keeps the last id', () => {
    const { events } = parse(['id: 7\ndata: a\n\n']);
    expect(events[0]?.id).toBe('7');
  });
});

describe('readSSE', () => {
  it('decodes UTF-8 split inside a character and drops a half event at the end', async () => {
    const s = fedStream();
    const bytes = new TextEncoder().encode('data: 你好\n\ndata: cut');
    const events: SSEEvent[] = [];
    const done = readSSE(s.stream, { onEvent: (e) => events.push(e) });
    s.push(bytes.slice(0, 7));
    s.push(bytes.slice(7));
    s.close();
    await done;
    expect(events).toEqual([{ event: 'message', data: '你好' }]);
  });
});
