import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { UsageReport, UsageTotals } from '../../api/types';
import { useAuth } from '../../stores/auth';
import { json, mockFetch, renderWithProviders } from '../../test/helpers';
import UsagePage from './UsagePage';

const zero: UsageTotals = { requests: 0, refused: 0, failed: 0, prompt_tokens: 0, cached_prompt_tokens: 0, completion_tokens: 0, reasoning_tokens: 0, total_tokens: 0, cost_usd: '0' };
const totals: UsageTotals = { ...zero, requests: 3, refused: 1, prompt_tokens: 1200, completion_tokens: 3400, total_tokens: 4600, cost_usd: '0.0125' };

const report: UsageReport = {
  from: '2030-01-01', to: '2030-01-02', timezone: 'Asia/Shanghai', summary: totals,
  by_day: [{ ...zero, date: '2030-01-01' }, { ...totals, date: '2030-01-02' }],
  by_model: [
    { ...totals, provider: 'openai', model: 'gpt-x', total_tokens: 4000, cost_usd: '0.0120' },
    { ...zero, provider: 'key:k1', model: 'own-model', total_tokens: 600, cost_usd: '0' },
  ],
  by_provider: [{ ...totals, provider: 'openai' }],
};

beforeEach(() => {
  useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
});

describe('UsagePage', () => {
  it('shows quota bars with reset times, totals, models by name, and downloads the CSV', async () => {
    const saved = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:usage');
    const calls = mockFetch((c) => {
      if (c.url === '/api/v1/info') return json(200, { platform: 'p', registration: 'Open', version: 'v', user_keys_allowed: true });
      if (c.url === '/api/v1/keys') return json(200, { items: [{ id: 'k1', name: 'My key' }] });
      if (c.url === '/api/v1/usage/quotas') {
        return json(200, { items: [{ quota: 'team', limit: 'tokensPerDay', used: '900', max: '1000', remaining: '100', reset_at: '2030-01-03T00:00:00Z', mode: 'Enforce' }] });
      }
      if (c.url.includes('format=csv')) return new Response('day,model\n', { headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="usage.csv"' } });
      return json(200, report);
    });
    renderWithProviders(<UsagePage />);
    const bar = await screen.findByRole('progressbar', { name: 'team · Tokens per day' });
    expect(bar.getAttribute('aria-valuenow')).toBe('90');
    expect(bar.parentElement?.className).toContain('quota');
    expect(screen.getByText(/^900 \/ 1,000 · Resets .*2030/)).toBeTruthy();
    expect(await screen.findByText('4,600')).toBeTruthy();
    expect(screen.getByText('1 refused · 0 failed')).toBeTruthy();
    expect(screen.getByText('Days are counted in the platform’s time zone (Asia/Shanghai).')).toBeTruthy();
    const byTokens = screen.getByRole('list', { name: 'Tokens by model' });
    await waitFor(() => expect(within(byTokens).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['openai / gpt-x4K', 'My key (your key) / own-model600']));
    expect(calls.find((c) => c.url.startsWith('/api/v1/usage?'))?.url).toMatch(/^\/api\/v1\/usage\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d$/);
    fireEvent.click(screen.getByRole('button', { name: 'Download CSV' }));
    await waitFor(() => expect(saved).toHaveBeenCalled());
    expect(calls.some((c) => c.url.includes('format=csv'))).toBe(true);
  });

  it('shows the error of a report that cannot be read, with a retry', async () => {
    mockFetch((c) => (c.url === '/api/v1/usage/quotas' ? json(200, { items: [] }) : json(422, { error: { code: 'validation_failed', message: 'the range must be at most 366 days' } })));
    renderWithProviders(<UsagePage />);
    const alert = await screen.findByRole('alert');
    expect(within(alert).getByText('the range must be at most 366 days')).toBeTruthy();
    expect(within(alert).getByRole('button', { name: 'Retry' })).toBeTruthy();
    expect(await screen.findByText('No quota applies to you.')).toBeTruthy();
  });
});
