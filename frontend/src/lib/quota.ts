/** Quotas in words: the names of their limits, amounts in each limit's unit, refusals and windows. */
import type { QuotaLimitName, QuotaRefusal, QuotaWindow } from '../api/types';
import type { MessageKey, T } from '../i18n';
import { formatDateTime, formatInt, formatUSD } from './format';

/** The words for each limit a quota can set. */
export const limitLabels: Record<QuotaLimitName, MessageKey> = {
  requestsPerMinute: 'quota.requestsPerMinute',
  tokensPerDay: 'quota.tokensPerDay',
  tokensPerMonth: 'quota.tokensPerMonth',
  costPerMonth: 'quota.costPerMonth',
  maxOutputTokensPerRequest: 'quota.maxOutput',
  allowedModels: 'quota.allowedModels',
};

/** formatAmount prints an amount in a limit's unit: dollars for costPerMonth, a count otherwise. */
export function formatAmount(limit: QuotaLimitName, v: string, loc: string): string {
  return limit === 'costPerMonth' ? formatUSD(v) : formatInt(Number(v), loc);
}

/** quotaText describes a refusal: which quota and limit, how much was used and when it resets. */
export function quotaText(q: QuotaRefusal, t: T, loc: string): string {
  if (q.limit === 'allowedModels') return t('quota.modelNotAllowed', { name: q.quota });
  const parts = [t('quota.exceeded', { name: q.quota, limit: t(limitLabels[q.limit]) })];
  if (q.limit === 'maxOutputTokensPerRequest') parts.push(t('quota.maxIs', { max: formatAmount(q.limit, q.max, loc) }));
  else parts.push(t('quota.used', { used: formatAmount(q.limit, q.used, loc), max: formatAmount(q.limit, q.max, loc), remaining: formatAmount(q.limit, q.remaining, loc) }));
  if (q.reset_at !== undefined) parts.push(t('quota.resetsAt', { time: formatDateTime(q.reset_at, loc) }));
  return parts.join(' ');
}

/** quotaDetail prints "used / limit · resets …" of a window in its unit. */
export function quotaDetail(q: QuotaWindow, t: T, loc: string): string {
  return `${formatAmount(q.limit, q.used, loc)} / ${formatAmount(q.limit, q.max, loc)} · ${t('quota.resetsAt', { time: formatDateTime(q.reset_at, loc) })}`;
}
