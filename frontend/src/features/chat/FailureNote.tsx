/** FailureNote says why the last request of a conversation failed; a quota refusal names its reset time. */
import type { QuotaRefusal } from '../../api/types';
import { locale, useT, type T } from '../../i18n';
import { formatDateTime, formatInt, formatUSD } from '../../lib/format';
import { limitLabels } from '../usage/UsagePage';
import { usePrefs } from '../../stores/prefs';
import type { StreamFailure } from './streamStore';

/** quotaText describes a quota refusal: which quota and limit, how much was used and when it resets. */
export function quotaText(q: QuotaRefusal, t: T, loc: string): string {
  if (q.limit === 'allowedModels') return t('quota.modelNotAllowed', { name: q.quota });
  const amount = (v: string) => (q.limit === 'costPerMonth' ? formatUSD(v) : formatInt(Number(v), loc));
  const parts = [t('quota.exceeded', { name: q.quota, limit: t(limitLabels[q.limit]) })];
  parts.push(t('quota.used', { used: amount(q.used), max: amount(q.max) }));
  if (q.reset_at !== undefined) parts.push(t('quota.resetsAt', { time: formatDateTime(q.reset_at, loc) }));
  return parts.join(' ');
}

export function FailureNote({ failure, onDismiss }: { failure: StreamFailure; onDismiss: () => void }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  let text: string;
  if (failure.kind === 'interrupted') text = t('chat.interrupted');
  else if (failure.quota !== undefined) text = quotaText(failure.quota, t, loc);
  else text = failure.message ?? t('error.generic');
  return (
    <div className={failure.quota !== undefined ? 'note note-warn' : 'note note-error'} role="alert">
      <span>{text}</span>
      <button type="button" className="btn btn-small btn-ghost" onClick={onDismiss} aria-label={t('common.close')}>
        ×
      </button>
    </div>
  );
}
