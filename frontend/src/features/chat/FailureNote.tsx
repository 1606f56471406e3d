/** FailureNote says why the last request of a conversation failed; a quota refusal names its reset time. */
import type { QuotaRefusal } from '../../api/types';
import { locale, useT, type T } from '../../i18n';
import { formatDateTime } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';
import type { StreamFailure } from './streamStore';

/** quotaText describes a quota refusal: which quota, what is left and when it resets. */
export function quotaText(q: QuotaRefusal, t: T, loc: string): string {
  const parts = [t('quota.exceeded', { name: q.name ?? '' })];
  if (q.remaining !== undefined && q.limit !== undefined) parts.push(t('quota.remaining', { remaining: q.remaining, limit: q.limit }));
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
