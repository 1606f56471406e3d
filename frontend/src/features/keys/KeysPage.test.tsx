import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProviderKey } from '../../api/types';
import { useAuth } from '../../stores/auth';
import { json, mockFetch, renderWithProviders } from '../../test/helpers';
import KeysPage, { modelsOf, rowsOf } from './KeysPage';

const info = (allowed: boolean) => ({ platform: 'p', registration: 'Open', version: 'v', user_keys_allowed: allowed });

beforeEach(() => {
  useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
});

describe('models editor rows', () => {
  it('round-trips a key’s models, keeping the settings the editor does not show', () => {
    const rows = rowsOf([
      { name: 'gpt-x', pricing: { input: '1', cached_input: '0.5', output: '2' }, context_window: 8000, max_output_tokens: 1000 },
      { name: 'plain', pricing: { input: '', cached_input: '', output: '' } },
    ]);
    const blank = { name: '  ', input: '1', output: '', contextWindow: '', cachedInput: '', maxOutputTokens: 0 };
    expect(modelsOf([...rows, blank])).toEqual([
      { name: 'gpt-x', pricing: { input: '1', cached_input: '0.5', output: '2' }, context_window: 8000, max_output_tokens: 1000 },
      { name: 'plain' },
    ]);
  });
});

describe('KeysPage', () => {
  it('adds a key with its models and prices, then tests it', async () => {
    const stored: ProviderKey[] = [];
    const calls = mockFetch((c) => {
      if (c.url === '/api/v1/info') return json(200, info(true));
      if (c.url === '/api/v1/keys' && c.method === 'POST') {
        const k: ProviderKey = {
          id: 'k1', name: 'Mine', provider_type: 'OpenAICompatible', base_url: 'http://llm.local/v1',
          models: [{ name: 'm1', pricing: { input: '0.1', cached_input: '', output: '0.2' }, context_window: 4096 }],
          hint: '', created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z', last_used_at: null,
        };
        stored.push(k);
        return json(201, k);
      }
      if (c.url === '/api/v1/keys/k1/test') return json(200, { ok: true, models: ['m1', 'm2'] });
      return json(200, { items: stored });
    });
    renderWithProviders(<KeysPage />);
    await screen.findByText('No keys yet.');
    fireEvent.click(screen.getByRole('button', { name: 'Add key' }));
    const dialog = screen.getByRole('dialog');
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Name' }), { target: { value: 'Mine' } });
    fireEvent.change(within(dialog).getByRole('combobox'), { target: { value: 'OpenAICompatible' } });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Base URL' }), { target: { value: 'http://llm.local/v1' } });
    fireEvent.change(within(dialog).getByLabelText('Model 1: name'), { target: { value: 'm1' } });
    fireEvent.change(within(dialog).getByLabelText(/Model 1: input price/), { target: { value: '0.1' } });
    fireEvent.change(within(dialog).getByLabelText(/Model 1: output price/), { target: { value: '0.2' } });
    fireEvent.change(within(dialog).getByLabelText(/Model 1: context window/), { target: { value: '4096' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    const row = (await screen.findByText('m1 ($0.1/M / $0.2/M)')).closest('tr') as HTMLElement;
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      name: 'Mine', provider_type: 'OpenAICompatible', base_url: 'http://llm.local/v1',
      models: [{ name: 'm1', pricing: { input: '0.1', output: '0.2' }, context_window: 4096 }],
    });
    fireEvent.click(within(row).getByRole('button', { name: 'Test' }));
    expect(await within(row).findByText('The key works. The provider offers: m1, m2.')).toBeTruthy();
  });

  it('says so when the platform does not allow own keys, without asking for them', async () => {
    const calls = mockFetch((c) => (c.url === '/api/v1/info' ? json(200, info(false)) : json(403, { error: { code: 'user_keys_disabled', message: 'no' } })));
    renderWithProviders(<KeysPage />);
    await screen.findByText('This platform does not allow personal provider keys.');
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/info')).toBe(true));
    expect(calls.some((c) => c.url === '/api/v1/keys')).toBe(false);
    expect(screen.queryByRole('button', { name: 'Add key' })).toBeNull();
  });
});
