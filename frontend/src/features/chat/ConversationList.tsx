/** The conversation list: search across messages, a tag filter, paging, and the new-conversation button. */
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { ErrorNote, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { formatRelative } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';
import { useConversations, useSearch, useTags } from './queries';
import { useChat } from './streamStore';
import { TagChip } from './TagPicker';

/** useDebounced returns value once it has stopped changing for ms. */
function useDebounced<V>(value: V, ms: number): V {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

export function ConversationList({ activeId, onNew }: { activeId: string | undefined; onNew: () => void }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const [text, setText] = useState('');
  const [tagId, setTagId] = useState('');
  const q = useDebounced(text.trim(), 300);
  const tags = useTags();
  const list = useConversations(tagId);
  const search = useSearch(q);
  const streaming = useChat((s) => s.streams);
  const conversations = list.data?.pages.flatMap((p) => p.items) ?? [];
  const hits = search.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <aside className="conv-list" aria-label={t('chat.conversations')}>
      <div className="conv-tools">
        <button type="button" className="btn btn-primary btn-block" onClick={onNew}>
          + {t('chat.new')}
        </button>
        <input type="search" placeholder={t('chat.search')} aria-label={t('chat.search')} value={text} onChange={(e) => setText(e.target.value)} />
        {(tags.data?.length ?? 0) > 0 && (
          <select aria-label={t('chat.filterTag')} value={tagId} onChange={(e) => setTagId(e.target.value)}>
            <option value="">{t('chat.allTags')}</option>
            {tags.data?.map((tag) => (
              <option key={tag.id} value={tag.id}>
                {tag.name}
              </option>
            ))}
          </select>
        )}
      </div>
      {q !== '' ? (
        <div className="conv-items">
          {search.isPending && <Spinner />}
          {search.isError && <ErrorNote error={search.error} onRetry={() => void search.refetch()} />}
          {search.isSuccess && hits.length === 0 && <p className="empty">{t('chat.noHits')}</p>}
          {hits.map((h) => (
            <Link key={h.message_id} to={`/chat/${h.conversation_id}`} className={h.conversation_id === activeId ? 'conv-item active' : 'conv-item'}>
              <span className="conv-title">{h.conversation_title}</span>
              <span className="conv-preview">{h.snippet}</span>
            </Link>
          ))}
          {search.hasNextPage && (
            <button type="button" className="btn btn-ghost btn-block" disabled={search.isFetchingNextPage} onClick={() => void search.fetchNextPage()}>
              {t('common.more')}
            </button>
          )}
        </div>
      ) : (
        <div className="conv-items">
          {list.isPending && <Spinner />}
          {list.isError && <ErrorNote error={list.error} onRetry={() => void list.refetch()} />}
          {list.isSuccess && conversations.length === 0 && <p className="empty">{t('chat.noConversations')}</p>}
          {conversations.map((c) => (
            <Link key={c.id} to={`/chat/${c.id}`} className={c.id === activeId ? 'conv-item active' : 'conv-item'} aria-current={c.id === activeId ? 'page' : undefined}>
              <span className="conv-title">
                {streaming[c.id] !== undefined && <span className="live-dot" title={t('chat.streaming')} />}
                {c.title}
              </span>
              {c.preview !== '' && <span className="conv-preview">{c.preview}</span>}
              <span className="conv-meta">
                <span>{formatRelative(c.last_message_at, loc)}</span>
                {c.tags.map((tag) => (
                  <TagChip key={tag.id} tag={tag} />
                ))}
              </span>
            </Link>
          ))}
          {list.hasNextPage && (
            <button type="button" className="btn btn-ghost btn-block" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
              {t('common.more')}
            </button>
          )}
        </div>
      )}
    </aside>
  );
}
