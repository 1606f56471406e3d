import { describe, expect, it } from 'vitest';
import { translate } from '../../i18n';
import { groupByProvider, priceLine } from '../chat/ModelPicker';
import { quotaDetail } from './UsagePage';
import { fillDays, lastDays } from './parts';

describe('usage helpers', () => {
  it('covers the last n days, today included', () => {
    expect(lastDays(7, new Date(2030, 0, 10))).toEqual({ from: '2030-01-04', to: '2030-01-10' });
  });

  it('fills days without usage with zeros, in order', () => {
    const day = { date: '2030-01-02', requests: 1, prompt_tokens: 5, cached_prompt_tokens: 0, completion_tokens: 7, reasoning_tokens: 0, cost_usd: '0.1' };
    const filled = fillDays([day], { from: '2030-01-01', to: '2030-01-03' });
    expect(filled.map((d) => [d.date, d.prompt_tokens])).toEqual([['2030-01-01', 0], ['2030-01-02', 5], ['2030-01-03', 0]]);
  });

  it('describes a quota window with its unit and reset time', () => {
    const t = (k: Parameters<typeof translate>[1], v?: Record<string, string | number>) => translate('en', k, v);
    const text = quotaDetail({ quota: 'team', limit: 'costPerMonth', max: '10', used: '2.5', remaining: '7.5', reset_at: '2030-02-01T00:00:00Z', mode: 'Enforce' }, t, 'en-US');
    expect(text).toMatch(/^\$2\.50 \/ \$10\.00 · Resets .*2030/);
  });

  it('groups models by provider and marks the user’s own keys', () => {
    const m = (id: string, provider: string, source: 'platform' | 'user') => ({ id, name: id, provider, provider_type: 'OpenAI', source });
    const groups = groupByProvider([m('a', 'openai', 'platform'), m('b', 'anthropic', 'platform'), m('c', 'openai', 'platform'), m('d', 'mine', 'user')]);
    expect(groups.map(([p, list]) => [p, list.map((x) => x.id)])).toEqual([['openai', ['a', 'c']], ['anthropic', ['b']], ['mine ★', ['d']]]);
    expect(priceLine({ ...m('a', 'openai', 'platform'), pricing: { input: '0.15', output: '0.6' } }, 'in', 'out')).toBe('in $0.15/M · out $0.6/M');
  });
});
