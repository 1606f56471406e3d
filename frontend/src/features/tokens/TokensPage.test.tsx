import { fireEvent, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ApiToken } from '../../api/types';
import { useAuth } from '../../stores/auth';
import { json, mockFetch, renderWithProviders } from '../../test/helpers';
import TokensPage, { snippet } from './TokensPage';

beforeEach(() => {
  useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
});

describe('TokensPage', () => {
  it('shows a new token once with a ready-to-paste snippet, then lists it by prefix only', async () => {
    const stored: ApiToken[] = [];
    const calls = mockFetch((c) => {
      if (c.method === 'POST') {
        const tok = { id: 't1', name: 'ci', prefix: 'llmp_ab12', created_at: '2030-01-01T00:00:00Z', token: 'llmp_ab12_SECRET' };
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
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    const once = await screen.findByText('Copy the token now: it is shown only once.');
    const box = once.closest('.secret-once') as HTMLElement;
    expect(within(box).getByText('llmp_ab12_SECRET')).toBeTruthy();
    expect(within(box).getByText(/Authorization: Bearer llmp_ab12_SECRET/)).toBeTruthy();
    expect(await screen.findByText('llmp_ab12…')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'I have copied it' }));
    expect(screen.queryByText('llmp_ab12_SECRET')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Revoke' }));
    fireEvent.click(screen.getByRole('button', { name: 'Revoke token' }));
    expect(await screen.findByText('Revoked')).toBeTruthy();
    expect(calls.find((c) => c.method === 'DELETE')?.url).toBe('/api/v1/tokens/t1');
  });

  it('builds a curl call of the OpenAI-compatible endpoint', () => {
    expect(snippet('https://ai.example.com/v1', 'tok', 'gpt')).toContain('curl https://ai.example.com/v1/chat/completions');
  });
});
