/** FailureNote says why the last request of a conversation failed; a quota refusal names its reset time. */
import { locale, useT } from '../../i18n';
import { quotaText } from '../../lib/quota';
import { usePrefs } from '../../stores/prefs';
import type { StreamFailure } from './streamStore';

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
