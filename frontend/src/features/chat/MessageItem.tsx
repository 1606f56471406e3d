/** One message: the user's text (editable and resendable) or the assistant's Markdown with its usage. */
import { useState, type KeyboardEvent } from 'react';
import type { Message, MessageUsage } from '../../api/types';
import { Markdown } from '../../components/Markdown';
import { ConfirmButton } from '../../components/ui';
import { useT, type T } from '../../i18n';
import { copyText } from '../../lib/download';
import { formatInt, formatUSD } from '../../lib/format';
import { locale } from '../../i18n';
import { usePrefs } from '../../stores/prefs';
import type { ActiveStream } from './streamStore';

/** usageLine prints the tokens and cost of an answer ("12 → 340 tokens · $0.0012 (estimated)"). */
export function usageLine(u: MessageUsage, t: T, loc: string): string {
  const tokens = t('chat.tokens', { in: formatInt(u.prompt_tokens, loc), out: formatInt(u.completion_tokens, loc) });
  const cost = formatUSD(u.cost_usd);
  return u.estimated ? `${tokens} · ${cost} (${t('chat.estimated')})` : `${tokens} · ${cost}`;
}

function CopyButton({ text }: { text: string }) {
  const t = useT();
  const [state, setState] = useState<'idle' | 'ok' | 'fail'>('idle');
  return (
    <button
      type="button"
      className="btn btn-ghost btn-small"
      onClick={() =>
        void copyText(text).then((ok) => {
          setState(ok ? 'ok' : 'fail');
          setTimeout(() => setState('idle'), 1500);
        })
      }
    >
      {state === 'ok' ? t('common.copied') : state === 'fail' ? t('common.copyFailed') : t('common.copy')}
    </button>
  );
}

export function MessageItem({ message, busy, canRegenerate, onRegenerate, onEdit, onDeleteFrom }: {
  message: Message;
  busy: boolean;
  canRegenerate: boolean;
  onRegenerate: () => void;
  onEdit: (content: string) => void;
  onDeleteFrom: () => void;
}) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(message.content);
  if (message.role === 'system') return null;
  if (message.role === 'user') {
    const submit = () => {
      if (text.trim() === '') return;
      setEditing(false);
      onEdit(text.trim());
    };
    const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
      if (e.key === 'Escape') setEditing(false);
    };
    return (
      <article className="msg msg-user">
        {editing ? (
          <div className="msg-edit">
            <textarea aria-label={t('chat.editMessage')} rows={4} value={text} onChange={(e) => setText(e.target.value)} onKeyDown={onKey} autoFocus />
            <div className="msg-actions">
              <button type="button" className="btn btn-small btn-primary" disabled={busy} onClick={submit}>
                {t('chat.saveAndSend')}
              </button>
              <button type="button" className="btn btn-small" onClick={() => setEditing(false)}>
                {t('common.cancel')}
              </button>
            </div>
          </div>
        ) : (
          <>
            <div className="msg-body plain">{message.content}</div>
            <div className="msg-actions">
              <CopyButton text={message.content} />
              <button type="button" className="btn btn-ghost btn-small" disabled={busy} onClick={() => { setText(message.content); setEditing(true); }}>
                {t('chat.edit')}
              </button>
              <ConfirmButton label={t('chat.deleteFrom')} confirmLabel={t('chat.deleteFromConfirm')} disabled={busy} className="btn btn-ghost btn-small" onConfirm={onDeleteFrom} />
            </div>
          </>
        )}
      </article>
    );
  }
  return (
    <article className="msg msg-assistant">
      <div className="msg-body">
        <Markdown text={message.content} />
      </div>
      <div className="msg-actions">
        {message.finish_reason === 'stopped' && <span className="badge">{t('chat.stopped')}</span>}
        {message.finish_reason === 'length' && <span className="badge">{t('chat.cutAtLength')}</span>}
        {message.finish_reason === 'error' && <span className="badge badge-error">{t('chat.failedAnswer')}</span>}
        {message.usage !== null && <span className="muted small">{usageLine(message.usage, t, loc)}</span>}
        <span className="spacer" />
        <CopyButton text={message.content} />
        {canRegenerate && (
          <button type="button" className="btn btn-ghost btn-small" disabled={busy} onClick={onRegenerate}>
            {t('chat.regenerate')}
          </button>
        )}
      </div>
    </article>
  );
}

/** StreamingItem shows the pending user turn and the answer as it arrives. */
export function StreamingItem({ stream }: { stream: ActiveStream }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  return (
    <>
      {stream.userText !== undefined && (
        <article className="msg msg-user pending">
          <div className="msg-body plain">{stream.userText}</div>
        </article>
      )}
      <article className="msg msg-assistant streaming" aria-busy="true">
        <div className="msg-body">
          {stream.answer === '' ? <span className="typing" aria-label={t('chat.thinking')} /> : <Markdown text={stream.answer} />}
        </div>
        {stream.usage !== undefined && <div className="msg-actions muted small">{usageLine(stream.usage, t, loc)}</div>}
      </article>
    </>
  );
}
