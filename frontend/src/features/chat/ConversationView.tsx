/** One open conversation: its header, its messages (with the answer streaming in) and the composer. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type SyntheticEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { conversationsApi } from '../../api/endpoints';
import type { Conversation } from '../../api/types';
import { ConfirmButton, Dialog, ErrorNote, Field, Spinner } from '../../components/ui';
import { useT } from '../../i18n';
import { saveFile } from '../../lib/download';
import { Composer } from './Composer';
import { FailureNote } from './FailureNote';
import { MessageItem, StreamingItem } from './MessageItem';
import { ModelPicker } from './ModelPicker';
import { chatKeys, useConversation, useMessages, useSend } from './queries';
import { failureOf, useChat } from './streamStore';
import { TagChip, TagPicker } from './TagPicker';

export function ConversationView({ id }: { id: string }) {
  const t = useT();
  const conversation = useConversation(id);
  const messages = useMessages(id);
  const active = useChat((s) => s.streams[id]);
  const failure = useChat((s) => s.failures[id]);
  const clearFailure = useChat((s) => s.clearFailure);
  const stop = useChat((s) => s.stop);
  const send = useSend(id);
  const qc = useQueryClient();
  const deleteFrom = useMutation({
    mutationFn: (messageId: string) => conversationsApi.deleteFrom(id, messageId),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: chatKeys.messages(id) });
      void qc.invalidateQueries({ queryKey: chatKeys.allConversations });
    },
  });
  const [draft, setDraft] = useState('');
  const endRef = useRef<HTMLDivElement>(null);
  const streamedLength = active?.answer.length ?? 0;
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: 'end' });
  }, [messages.data?.length, streamedLength]);

  if (conversation.isError) {
    return (
      <section className="conv-view">
        <ErrorNote error={conversation.error} onRetry={() => void conversation.refetch()} />
        <Link to="/chat">{t('chat.backToList')}</Link>
      </section>
    );
  }
  const list = messages.data ?? [];
  const cut = active?.replaceFrom === undefined ? -1 : list.findIndex((m) => m.id === active.replaceFrom);
  const shown = cut >= 0 ? list.slice(0, cut) : list;
  const lastAssistant = [...shown].reverse().find((m) => m.role === 'assistant');
  const lastUser = [...shown].reverse().find((m) => m.role === 'user');
  const busy = active !== undefined;
  return (
    <section className="conv-view" aria-label={conversation.data?.title ?? t('chat.conversation')}>
      {conversation.data === undefined ? <Spinner /> : <ConversationHeader c={conversation.data} />}
      <div className="messages" aria-live="polite">
        {messages.isPending && <Spinner />}
        {messages.isError && <ErrorNote error={messages.error} onRetry={() => void messages.refetch()} />}
        {messages.isSuccess && list.length === 0 && !busy && <p className="empty">{t('chat.firstMessage')}</p>}
        {shown.map((m) => (
          <MessageItem
            key={m.id}
            message={m}
            busy={busy}
            canRegenerate={m.id === lastAssistant?.id && lastUser !== undefined}
            onRegenerate={() => lastUser !== undefined && void send({ kind: 'regenerate', messageId: lastUser.id })}
            onEdit={(content) => void send({ kind: 'edit', messageId: m.id, content })}
            onDeleteFrom={() => deleteFrom.mutate(m.id)}
          />
        ))}
        {active !== undefined && <StreamingItem stream={active} />}
        {failure !== undefined && <FailureNote failure={failure} onDismiss={() => clearFailure(id)} />}
        {deleteFrom.isError && <ErrorNote error={deleteFrom.error} />}
        <div ref={endRef} />
      </div>
      <Composer
        value={draft}
        onChange={setDraft}
        busy={busy}
        stopping={active?.stopping === true}
        onSend={() => {
          const content = draft.trim();
          if (content === '') return;
          setDraft('');
          const what = { kind: 'send', content } as const;
          void send(what).then((result) => {
            // A refused turn was not stored: give the text back so it is not lost.
            if (failureOf(result, what)?.unsentText !== undefined) setDraft((d) => (d === '' ? content : d));
          });
        }}
        onStop={() => stop(id)}
      />
    </section>
  );
}

function ConversationHeader({ c }: { c: Conversation }) {
  const t = useT();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState(c.title);
  const [dialog, setDialog] = useState<'none' | 'settings' | 'tags'>('none');
  const [menuOpen, setMenuOpen] = useState(false);
  const onSaved = (updated: Conversation) => {
    qc.setQueryData(chatKeys.conversation(c.id), updated);
    void qc.invalidateQueries({ queryKey: chatKeys.allConversations });
  };
  const rename = useMutation({
    mutationFn: () => conversationsApi.update(c.id, { title: title.trim() }),
    onSuccess: (u) => {
      setRenaming(false);
      onSaved(u);
    },
  });
  const remove = useMutation({
    mutationFn: () => conversationsApi.remove(c.id),
    onSuccess: () => {
      qc.removeQueries({ queryKey: chatKeys.conversation(c.id) });
      qc.removeQueries({ queryKey: chatKeys.messages(c.id) });
      void qc.invalidateQueries({ queryKey: chatKeys.allConversations });
      void navigate('/chat', { replace: true });
    },
  });
  const exportAs = useMutation({
    mutationFn: async (format: 'markdown' | 'json') => {
      const file = await conversationsApi.exportFile(c.id, format);
      saveFile(file.blob, file.filename ?? `${c.title}.${format === 'json' ? 'json' : 'md'}`);
    },
  });
  const submitRename = (e: SyntheticEvent) => {
    e.preventDefault();
    if (title.trim() !== '') rename.mutate();
  };
  return (
    <header className="conv-header">
      <Link to="/chat" className="btn btn-ghost back-link" aria-label={t('chat.backToList')}>
        ‹
      </Link>
      {renaming ? (
        <form className="inline-form grow" onSubmit={submitRename}>
          <input aria-label={t('chat.title')} autoFocus maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
          <button type="submit" className="btn btn-small btn-primary" disabled={rename.isPending}>
            {t('common.save')}
          </button>
          <button type="button" className="btn btn-small" onClick={() => setRenaming(false)}>
            {t('common.cancel')}
          </button>
        </form>
      ) : (
        <div className="grow conv-heading">
          <h1 title={c.title}>{c.title}</h1>
          <span className="muted small">{c.model}</span>
          {c.tags.map((tag) => (
            <TagChip key={tag.id} tag={tag} />
          ))}
        </div>
      )}
      <button type="button" className="btn btn-ghost conv-menu-button" aria-label={t('chat.actions')} aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}>
        ⋯
      </button>
      <div className={menuOpen ? 'conv-actions open' : 'conv-actions'}>
        <button type="button" className="btn btn-small" onClick={() => { setTitle(c.title); setRenaming(true); }}>
          {t('chat.rename')}
        </button>
        <button type="button" className="btn btn-small" onClick={() => setDialog('tags')}>
          {t('tags.title')}
        </button>
        <button type="button" className="btn btn-small" onClick={() => setDialog('settings')}>
          {t('chat.settings')}
        </button>
        <button type="button" className="btn btn-small" onClick={() => exportAs.mutate('markdown')}>
          {t('chat.exportMd')}
        </button>
        <button type="button" className="btn btn-small" onClick={() => exportAs.mutate('json')}>
          {t('chat.exportJson')}
        </button>
        <ConfirmButton label={t('common.delete')} confirmLabel={t('chat.deleteConfirm')} onConfirm={() => remove.mutate()} />
      </div>
      {[rename, remove, exportAs].map((m, i) => (m.isError ? <ErrorNote key={i} error={m.error} /> : null))}
      {dialog === 'tags' && <TagPicker conversation={c} onClose={() => setDialog('none')} />}
      {dialog === 'settings' && <SettingsDialog c={c} onClose={() => setDialog('none')} onSaved={onSaved} />}
    </header>
  );
}

/** SettingsDialog changes a conversation's model and system prompt. */
function SettingsDialog({ c, onClose, onSaved }: { c: Conversation; onClose: () => void; onSaved: (c: Conversation) => void }) {
  const t = useT();
  const [model, setModel] = useState(c.model);
  const [systemPrompt, setSystemPrompt] = useState(c.system_prompt);
  const save = useMutation({
    mutationFn: () => conversationsApi.update(c.id, { model, system_prompt: systemPrompt }),
    onSuccess: (u) => {
      onSaved(u);
      onClose();
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <Dialog title={t('chat.settings')} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <ModelPicker value={model} onChange={setModel} />
        <Field label={t('chat.systemPrompt')} hint={t('chat.systemPromptHint')}>
          <textarea rows={6} maxLength={100000} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
        </Field>
        {save.isError && <ErrorNote error={save.error} />}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
