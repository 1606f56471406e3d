import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../api/types';
import { translate, type MessageKey } from '../../i18n';
import { quotaDetail, quotaText } from '../../lib/quota';
import { groupByProvider, priceLine } from '../chat/ModelPicker';
import { lastDays, providerName } from './parts';

const t = (k: MessageKey, v?: Record<string, string | number>) => translate('en', k, v);

describe('usage helpers', () => {
  it('covers the last n days, today included', () => {
    expect(lastDays(7, new Date(2030, 0, 10))).toEqual({ from: '2030-01-04', to: '2030-01-10' });
  });

  it('describes a quota window with its unit and reset time', () => {
    const text = quotaDetail({ quota: 'team', limit: 'costPerMonth', max: '10', used: '2.5', remaining: '7.5', reset_at: '2030-02-01T00:00:00Z', mode: 'Enforce' }, t, 'en-US');
    expect(text).toMatch(/^\$2\.50 \/ \$10\.00 · Resets .*2030/);
  });

  it('describes refusals: tokens with their reset time, models without one', () => {
    expect(quotaText({ quota: 'daily', limit: 'tokensPerDay', used: '1200', max: '1000', remaining: '0', reset_at: '2030-01-02T00:00:00Z' }, t, 'en-US')).toMatch(
      /^Quota “daily” refused this request: Tokens per day\. Used 1,200 of 1,000, 0 left\. Resets .*2030/,
    );
    expect(quotaText({ quota: 'gpt-only', limit: 'allowedModels', used: '', max: '', remaining: '' }, t, 'en-US')).toBe('Quota “gpt-only” does not allow this model.');
  });

  it('names own keys in usage rows by their name', () => {
    const names = new Map([['k1', 'My OpenAI']]);
    expect(providerName('openai', names, t)).toBe('openai');
    expect(providerName('key:k1', names, t)).toBe('My OpenAI (your key)');
    expect(providerName('key:gone', names, t)).toBe('Your key');
  });
});

describe('model picker helpers', () => {
  const m = (id: string, provider: string, source: 'platform' | 'user', input = '', output = ''): ModelInfo => ({
    id, name: id, provider, provider_type: 'OpenAI', source, pricing: { input, cached_input: '', output }, context_window: 0, max_output_tokens: 0,
  });

  it('groups models by provider in the server’s order and marks the user’s own keys', () => {
    const groups = groupByProvider([m('a', 'openai', 'platform'), m('b', 'anthropic', 'platform'), m('c', 'openai', 'platform'), m('d', 'mine', 'user')], (p) => `${p} (own)`);
    expect(groups.map(([p, list]) => [p, list.map((x) => x.id)])).toEqual([['openai', ['a', 'c']], ['anthropic', ['b']], ['mine (own)', ['d']]]);
  });

  it('prints prices per million tokens, or nothing without prices', () => {
    expect(priceLine(m('a', 'openai', 'platform', '0.15', '0.6'), 'in', 'out')).toBe('in $0.15/M · out $0.6/M');
    expect(priceLine(m('a', 'openai', 'platform'), 'in', 'out')).toBe('');
  });
});
