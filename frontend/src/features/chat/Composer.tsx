/**
 * The message box: Enter sends, Shift+Enter adds a line (and Enter while an IME is composing does neither);
 * Escape stops the answer being generated.
 */
import { useEffect, useRef, type KeyboardEvent } from 'react';
import { useT } from '../../i18n';

export function Composer({ value, onChange, busy, stopping = false, onSend, onStop }: {
  value: string;
  onChange: (v: string) => void;
  busy: boolean;
  /** Stop was pressed and the answer is ending. */
  stopping?: boolean;
  onSend: () => void;
  onStop: () => void;
}) {
  const t = useT();
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [value]);
  useEffect(() => ref.current?.focus(), []);
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Escape' && busy && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onStop();
      return;
    }
    if (e.key !== 'Enter' || e.shiftKey || e.nativeEvent.isComposing) return;
    e.preventDefault();
    if (!busy) onSend();
  };
  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        if (!busy) onSend();
      }}
    >
      <textarea
        ref={ref}
        rows={1}
        aria-label={t('chat.message')}
        placeholder={t('chat.placeholder')}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
      />
      {busy ? (
        <button type="button" className="btn btn-danger" disabled={stopping} title={t('chat.stopHint')} aria-keyshortcuts="Escape" onClick={onStop}>
          {stopping ? t('chat.stopping') : t('chat.stop')}
        </button>
      ) : (
        <button type="submit" className="btn btn-primary" disabled={value.trim() === ''}>
          {t('chat.send')}
        </button>
      )}
    </form>
  );
}
