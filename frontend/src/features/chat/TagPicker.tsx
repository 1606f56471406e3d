/** Tags: a coloured chip, and the dialog that attaches, detaches, creates and deletes them. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type CSSProperties, type SyntheticEvent } from 'react';
import { conversationsApi, tagsApi } from '../../api/endpoints';
import type { Conversation, Tag } from '../../api/types';
import { ConfirmButton, Dialog, ErrorNote, Spinner } from '../../components/ui';
import { useT } from '../../i18n';
import { chatKeys, useTags } from './queries';

/** The colour used for tags that have none. */
const DEFAULT_TAG_COLOR = '#6b7280';

export function TagChip({ tag }: { tag: Tag }) {
  const style = { '--tag': tag.color === '' ? DEFAULT_TAG_COLOR : tag.color } as CSSProperties;
  return (
    <span className="tag-chip" style={style}>
      {tag.name}
    </span>
  );
}

export function TagPicker({ conversation, onClose }: { conversation: Conversation; onClose: () => void }) {
  const t = useT();
  const qc = useQueryClient();
  const tags = useTags();
  const [name, setName] = useState('');
  const [color, setColor] = useState('#3b82f6');
  const attached = new Set(conversation.tags.map((x) => x.id));
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: chatKeys.conversation(conversation.id) });
    void qc.invalidateQueries({ queryKey: chatKeys.allConversations });
    void qc.invalidateQueries({ queryKey: chatKeys.tags });
  };
  const toggle = useMutation({
    mutationFn: (tag: Tag) =>
      attached.has(tag.id) ? conversationsApi.removeTag(conversation.id, tag.id) : conversationsApi.addTag(conversation.id, tag.id),
    onSuccess: refresh,
  });
  const create = useMutation({
    mutationFn: async () => {
      const tag = await tagsApi.create({ name: name.trim(), color });
      await conversationsApi.addTag(conversation.id, tag.id);
    },
    onSuccess: () => {
      setName('');
      refresh();
    },
  });
  const remove = useMutation({ mutationFn: (tag: Tag) => tagsApi.remove(tag.id), onSuccess: refresh });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    if (name.trim() !== '') create.mutate();
  };
  return (
    <Dialog title={t('tags.title')} onClose={onClose}>
      {tags.isPending && <Spinner />}
      {tags.isError && <ErrorNote error={tags.error} />}
      <ul className="tag-options">
        {tags.data?.map((tag) => (
          <li key={tag.id}>
            <label>
              <input type="checkbox" checked={attached.has(tag.id)} disabled={toggle.isPending} onChange={() => toggle.mutate(tag)} />
              <TagChip tag={tag} />
            </label>
            <ConfirmButton label={t('common.delete')} confirmLabel={t('tags.deleteConfirm')} onConfirm={() => remove.mutate(tag)} />
          </li>
        ))}
      </ul>
      {tags.isSuccess && tags.data.length === 0 && <p className="empty">{t('tags.none')}</p>}
      <form className="inline-form" onSubmit={submit}>
        <input aria-label={t('tags.newName')} placeholder={t('tags.newName')} maxLength={50} value={name} onChange={(e) => setName(e.target.value)} />
        <input type="color" aria-label={t('tags.color')} value={color} onChange={(e) => setColor(e.target.value)} />
        <button type="submit" className="btn" disabled={create.isPending || name.trim() === ''}>
          {t('tags.add')}
        </button>
      </form>
      {[toggle, create, remove].map((m, i) => (m.isError ? <ErrorNote key={i} error={m.error} /> : null))}
    </Dialog>
  );
}
