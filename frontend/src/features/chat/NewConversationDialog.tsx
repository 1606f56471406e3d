/** The new-conversation dialog: model (grouped by provider, with prices), optional title and system prompt. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { conversationsApi } from '../../api/endpoints';
import { Dialog, ErrorNote, Field } from '../../components/ui';
import { useT } from '../../i18n';
import { ModelPicker } from './ModelPicker';
import { chatKeys, useModels } from './queries';

export function NewConversationDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (id: string) => void }) {
  const t = useT();
  const qc = useQueryClient();
  const models = useModels();
  const [model, setModel] = useState('');
  const [title, setTitle] = useState('');
  const [systemPrompt, setSystemPrompt] = useState('');
  const chosen = model !== '' ? model : (models.data?.[0]?.id ?? '');
  const create = useMutation({
    mutationFn: () => {
      const input: { model: string; title?: string; system_prompt?: string } = { model: chosen };
      if (title.trim() !== '') input.title = title.trim();
      if (systemPrompt.trim() !== '') input.system_prompt = systemPrompt;
      return conversationsApi.create(input);
    },
    onSuccess: (c) => {
      qc.setQueryData(chatKeys.conversation(c.id), c);
      void qc.invalidateQueries({ queryKey: chatKeys.allConversations });
      onCreated(c.id);
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Dialog title={t('chat.new')} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <ModelPicker value={chosen} onChange={setModel} />
        <Field label={t('chat.title')}>
          <input name="title" maxLength={200} placeholder={t('chat.titlePlaceholder')} value={title} onChange={(e) => setTitle(e.target.value)} />
        </Field>
        <Field label={t('chat.systemPrompt')} hint={t('chat.systemPromptHint')}>
          <textarea name="system_prompt" rows={4} maxLength={100000} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
        </Field>
        {create.isError && <ErrorNote error={create.error} />}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={create.isPending || chosen === ''}>
            {t('chat.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
