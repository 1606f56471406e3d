import { fireEvent, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ApiToken, ModelInfo } from '../../api/types';
import { useAuth } from '../../stores/auth';
import { json, mockFetch, renderWithProviders } from '../../test/helpers';
import TokensPage, { curlSnippet, pythonSnippet, splitList } from './TokensPage';

const model: ModelInfo = {
  id: 'mock/mock-chat', name: 'mock-chat', provider: 'mock', provider_type: 'OpenAICompatible', source: 'platform',
  pricing: { input: '0.15', cached_input: '', output: '0.6' }, context_window: 0, max_output_tokens: 0,
};

beforeEach(() => {
  useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
});

describe('TokensPage', () => {
  it('shows a new token once with ready-to-paste snippets, then lists it by prefix only', async () => {
    const stored: ApiToken[] = [];
    const calls = mockFetch((c) => {
      if (c.url === '/api/v1/models') return json(200, { items: [model] });
      if (c.method === 'POST') {
        const tok: ApiToken = {
          id: 't1', name: 'ci', prefix: 'llmp_ab12', allowed_models: ['mock/*'], expires_at: null, created_at: '2030-01-01T00:00:00Z',
          last_used_at: null, revoked_at: null, token: 'llmp_ab12_SECRET',
        };
        stored.push({ ...tok, token: undefined });
        return json(201, tok);
      }
      if (c.method === 'DELETE') {
        stored.splice(0, 1, ...stored.map((t) => ({ ...t, revoked_at: '2030-01-02T00:00:00Z' })));
        return json(204, null);
      }
      return json(200, { items: stored });
    });
    renderWithProviders(<TokensPage />);
    await screen.findByText('No tokens yet.');
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'ci' } });
    fireEvent.change(screen.getByLabelText(/^Allowed models/), { target: { value: 'mock/*' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    const once = await screen.findByText('Copy the token now: it is shown only once.');
    const box = once.closest('.secret-once') as HTMLElement;
    expect(within(box).getByText('llmp_ab12_SECRET')).toBeTruthy();
    await within(box).findByText(/model="mock\/mock-chat"/);
    expect(within(box).getByText(/Authorization: Bearer llmp_ab12_SECRET/)).toBeTruthy();
    expect(within(box).getByText(/api_key="llmp_ab12_SECRET"/)).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ name: 'ci', allowed_models: ['mock/*'] });
    expect(await screen.findByText('llmp_ab12…')).toBeTruthy();
    expect(screen.getByText('mock/*')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'I have copied it' }));
    expect(screen.queryByText('llmp_ab12_SECRET')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Revoke' }));
    fireEvent.click(screen.getByRole('button', { name: 'Revoke token' }));
    expect(await screen.findByText('Revoked')).toBeTruthy();
    expect(calls.find((c) => c.method === 'DELETE')?.url).toBe('/api/v1/tokens/t1');
  });

  it('builds snippets for the OpenAI-compatible endpoint that survive quotes', () => {
    const curl = curlSnippet('https://ai.example.com/v1', 'tok', "it's");
    expect(curl).toContain('curl https://ai.example.com/v1/chat/completions');
    expect(curl).toContain(`-d '{"model":"it'\\''s",`);
    const py = pythonSnippet('https://ai.example.com/v1', 'tok', 'mock/mock-chat');
    expect(py).toContain('OpenAI(base_url="https://ai.example.com/v1", api_key="tok")');
    expect(py).toContain('model="mock/mock-chat"');
  });

  it('reads allowed models separated by commas or spaces', () => {
    expect(splitList(' a/*, b  c,,')).toEqual(['a/*', 'b', 'c']);
  });
});
