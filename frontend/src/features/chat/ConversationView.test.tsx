import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../../api/types';
import { useAuth } from '../../stores/auth';
import { fedStream, json, mockFetch, renderWithProviders, sseResponse, type Call, type FedStream } from '../../test/helpers';
import { ConversationView } from './ConversationView';
import { useChat } from './streamStore';

const conversation = {
  id: 'c1', title: 'Trip plans', model: 'gpt-test', system_prompt: '', created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z',
  last_message_at: '2030-01-01T00:00:00Z', message_count: 0, preview: '', tags: [],
};

function msg(id: string, role: 'user' | 'assistant', content: string, extra: Partial<Message> = {}): Message {
  return {
    id, conversation_id: 'c1', role, content, model: '', provider: '', finish_reason: role === 'assistant' ? 'stop' : '', usage: null,
    latency_ms: null, ttft_ms: null, created_at: '2030-01-01T00:00:00Z', ...extra,
  };
}

/** A fake server: the stored messages, and each send answered by a stream the test feeds. */
function server(stored: Message[], onSend: (c: Call) => Response) {
  return mockFetch((c) => {
    if (c.method === 'POST') return onSend(c);
    if (c.url.startsWith('/api/v1/conversations/c1/messages')) return json(200, { items: stored });
    if (c.url === '/api/v1/conversations/c1') return json(200, conversation);
    return json(200, { items: [] });
  });
}

async function typeAndSend(text: string) {
  const box = await screen.findByRole('textbox', { name: 'Message' });
  fireEvent.change(box, { target: { value: text } });
  fireEvent.keyDown(box, { key: 'Enter' });
}

beforeEach(() => {
  localStorage.clear();
  useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
  useChat.setState({ streams: {}, failures: {} });
});

describe('ConversationView', () => {
  it('shows the answer arriving in pieces, then the stored exchange with its usage', async () => {
    const stored: Message[] = [];
    let s!: FedStream;
    const calls = server(stored, () => {
      s = fedStream();
      return sseResponse(s.stream);
    });
    renderWithProviders(<ConversationView id="c1" />);
    await screen.findByText('Send the first message below.');
    await typeAndSend('Where to?');
    await screen.findByText('Where to?');
    s.push('event: delta\ndata: {"text":"Go to "}\n\n');
    await screen.findByText('Go to');
    s.push('event: delta\ndata: {"text":"**Kyoto**"}\n\n');
    await waitFor(() => expect(screen.getByText('Kyoto').tagName).toBe('STRONG'));
    expect(screen.getByRole('button', { name: 'Stop' })).toBeTruthy();
    const usage = { prompt_tokens: 5, cached_prompt_tokens: 0, completion_tokens: 4, reasoning_tokens: 0, cost_usd: '0.00002', estimated: false };
    const user = msg('u1', 'user', 'Where to?');
    const answer = msg('a1', 'assistant', 'Go to **Kyoto**', { usage });
    stored.push(user, answer);
    s.push(`event: usage\ndata: ${JSON.stringify(usage)}\n\nevent: done\ndata: ${JSON.stringify({ user_message: user, assistant_message: answer, finish_reason: 'stop' })}\n\n`);
    s.close();
    await screen.findByRole('button', { name: 'Send' });
    expect(screen.getByText('5 → 4 tokens · $0.000020')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Regenerate' })).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ content: 'Where to?' });
  });

  it('stops a long answer and shows the partial text the server kept', async () => {
    const stored: Message[] = [];
    let s!: FedStream;
    let stopAnswer: () => void = () => undefined;
    const calls = server(stored, (c) => {
      if (c.url === '/api/v1/conversations/c1/stop') {
        // The server ends the stream itself, with the partial answer it stored, once the stop is seen.
        stopAnswer = () => {
          const user = msg('u1', 'user', 'Tell me a long story');
          const answer = msg('a1', 'assistant', 'Once upon a time', { finish_reason: 'stopped' });
          stored.push(user, answer);
          s.push(`event: done\ndata: ${JSON.stringify({ user_message: user, assistant_message: answer, finish_reason: 'stopped' })}\n\n`);
          s.close();
        };
        return json(204, null);
      }
      s = fedStream();
      return sseResponse(s.stream);
    });
    renderWithProviders(<ConversationView id="c1" />);
    await typeAndSend('Tell me a long story');
    s.push('event: delta\ndata: {"text":"Once upon a time"}\n\n');
    await screen.findByText('Once upon a time');
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect((await screen.findByRole<HTMLButtonElement>('button', { name: 'Stopping…' })).disabled).toBe(true);
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/conversations/c1/stop')).toBe(true));
    stopAnswer();
    await screen.findByText('Stopped');
    expect(screen.getByText('Once upon a time')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Send' })).toBeTruthy();
  });

  it('shows a quota refusal with its reset time and gives the text back', async () => {
    server([], () => json(429, { error: { code: 'quota_exceeded', message: 'Quota exceeded', quota: { quota: 'daily-tokens', limit: 'tokensPerDay', used: '20000', max: '20000', remaining: '0', reset_at: '2030-01-02T00:00:00Z' } } }));
    renderWithProviders(<ConversationView id="c1" />);
    await typeAndSend('One more question');
    const alert = await screen.findByRole('alert');
    expect(within(alert).getByText(/Quota “daily-tokens” refused this request: Tokens per day\. Used 20,000 of 20,000, 0 left\. Resets .*2030/)).toBeTruthy();
    await waitFor(() => expect(screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Message' }).value).toBe('One more question'));
  });

  it('edits an earlier message and resends it, replacing what followed', async () => {
    const stored = [msg('u1', 'user', 'Hi'), msg('a1', 'assistant', 'Hello!')];
    let s!: FedStream;
    const calls = server(stored, () => {
      s = fedStream();
      return sseResponse(s.stream);
    });
    renderWithProviders(<ConversationView id="c1" />);
    await screen.findByText('Hello!');
    fireEvent.click(screen.getByRole('button', { name: 'Edit' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Edit the message' }), { target: { value: 'Hi, in French' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save and send' }));
    await screen.findByText('Hi, in French');
    expect(screen.queryByText('Hello!')).toBeNull();
    expect(calls.find((c) => c.method === 'POST')).toMatchObject({ url: '/api/v1/conversations/c1/messages/u1/edit', body: { content: 'Hi, in French' } });
    s.push('event: delta\ndata: {"text":"Bonjour !"}\n\n');
    await screen.findByText('Bonjour !');
  });

  it('deletes a message and everything after it', async () => {
    const stored = [msg('u1', 'user', 'First'), msg('a1', 'assistant', 'Answer one'), msg('u2', 'user', 'Second'), msg('a2', 'assistant', 'Answer two')];
    const calls = mockFetch((c) => {
      if (c.method === 'DELETE') {
        stored.splice(2);
        return json(204, null);
      }
      if (c.url.startsWith('/api/v1/conversations/c1/messages')) return json(200, { items: stored });
      if (c.url === '/api/v1/conversations/c1') return json(200, conversation);
      return json(200, { items: [] });
    });
    renderWithProviders(<ConversationView id="c1" />);
    const second = (await screen.findByText('Second')).closest('article') as HTMLElement;
    fireEvent.click(within(second).getByRole('button', { name: 'Delete from here' }));
    fireEvent.click(within(second).getByRole('button', { name: 'Delete this and all later messages' }));
    await waitFor(() => expect(screen.queryByText('Answer two')).toBeNull());
    expect(screen.getByText('Answer one')).toBeTruthy();
    expect(calls.find((c) => c.method === 'DELETE')?.url).toBe('/api/v1/conversations/c1/messages/u2');
  });
});
