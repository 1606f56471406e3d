import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { QuotaInForce } from '../../api/types';
import { useAuth } from '../../stores/auth';
import { json, mockFetch, renderWithProviders } from '../../test/helpers';
import AdminQuotasPage from './AdminQuotasPage';

const quotas: QuotaInForce[] = [
  {
    name: 'everyone', mode: 'Enforce', subjects: { all_users: true }, limits: { tokens_per_day: 100000, cost_per_month: '25' },
    allowed_models: [], matched_users: 12, refusals_this_month: { enforced: 3, shadow: 0 },
  },
  {
    name: 'trial', mode: 'Shadow', subjects: { roles: ['user'] }, limits: { requests_per_minute: 10 },
    allowed_models: ['openai/*'], matched_users: 4, refusals_this_month: { enforced: 0, shadow: 7 },
  },
];

beforeEach(() => {
  useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
});

describe('AdminQuotasPage', () => {
  it('lists each quota with whom it applies to, its limits and this month’s refusals', async () => {
    mockFetch(() => json(200, { items: quotas }));
    renderWithProviders(<AdminQuotasPage />);
    const everyone = (await screen.findByRole('cell', { name: 'everyone' })).closest('tr') as HTMLElement;
    expect(within(everyone).getByText('All users')).toBeTruthy();
    expect(within(everyone).getByText('Tokens per day: 100,000')).toBeTruthy();
    expect(within(everyone).getByText('Cost per month: $25.00')).toBeTruthy();
    expect(within(everyone).getByText('Any model')).toBeTruthy();
    expect(within(everyone).getByRole('cell', { name: '3' })).toBeTruthy();
    const trial = screen.getByRole('cell', { name: 'trial' }).closest('tr') as HTMLElement;
    expect(within(trial).getByText('Roles: user')).toBeTruthy();
    expect(within(trial).getByText('openai/*')).toBeTruthy();
    expect(within(trial).getByText('shadow: recorded, not enforced')).toBeTruthy();
    expect(within(trial).getByText('0 (shadow: 7)')).toBeTruthy();
  });
});
