/** The chat feature's server state: query keys, queries and the send hook. */
import { useInfiniteQuery, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import type { StreamResult } from '../../api/chatStream';
import { conversationsApi, modelsApi, tagsApi } from '../../api/endpoints';
import type { Message } from '../../api/types';
import { useChat, type SendKind } from './streamStore';

export const chatKeys = {
  conversations: (tagId: string) => ['conversations', tagId] as const,
  allConversations: ['conversations'] as const,
  conversation: (id: string) => ['conversation', id] as const,
  messages: (id: string) => ['messages', id] as const,
  search: (q: string) => ['search', q] as const,
  tags: ['tags'] as const,
  models: ['models'] as const,
};

const PAGE = 30;

export function useConversations(tagId: string) {
  return useInfiniteQuery({
    queryKey: chatKeys.conversations(tagId),
    initialPageParam: '',
    queryFn: ({ pageParam }) => conversationsApi.list({ limit: PAGE, cursor: pageParam, tag_id: tagId }),
    getNextPageParam: (last) => last.next_cursor,
  });
}

export function useSearch(q: string) {
  return useInfiniteQuery({
    queryKey: chatKeys.search(q),
    enabled: q !== '',
    initialPageParam: '',
    queryFn: ({ pageParam }) => conversationsApi.search({ q, limit: PAGE, cursor: pageParam }),
    getNextPageParam: (last) => last.next_cursor,
  });
}

export function useConversation(id: string) {
  return useQuery({ queryKey: chatKeys.conversation(id), queryFn: () => conversationsApi.get(id) });
}

export function useMessages(id: string) {
  return useQuery({ queryKey: chatKeys.messages(id), queryFn: () => conversationsApi.allMessages(id) });
}

export function useTags() {
  return useQuery({ queryKey: chatKeys.tags, queryFn: tagsApi.list });
}

export function useModels() {
  return useQuery({ queryKey: chatKeys.models, queryFn: modelsApi.list, staleTime: 60_000, retry: false });
}

/**
 * placeMessages puts a finished exchange into the cached message list: everything from `replaceFrom` on is
 * dropped (regenerate, edit), then the stored user turn (unless it is already there) and the answer follow.
 */
export function placeMessages(list: Message[], user: Message, answer: Message, replaceFrom?: string): Message[] {
  let kept = list;
  if (replaceFrom !== undefined) {
    const at = list.findIndex((m) => m.id === replaceFrom);
    if (at >= 0) kept = list.slice(0, at);
  }
  kept = kept.filter((m) => m.id !== user.id && m.id !== answer.id);
  return [...kept, user, answer];
}

async function settle(qc: QueryClient, id: string, what: SendKind, result: StreamResult): Promise<void> {
  if (result.outcome === 'done') {
    const replaceFrom = what.kind === 'send' ? undefined : what.messageId;
    qc.setQueryData<Message[]>(chatKeys.messages(id), (old) =>
      placeMessages(old ?? [], result.done.user_message, result.done.assistant_message, replaceFrom),
    );
  } else {
    // Stopped, cut or refused: the server kept whatever it stored; read it back rather than guess.
    await qc.refetchQueries({ queryKey: chatKeys.messages(id) });
  }
  void qc.invalidateQueries({ queryKey: chatKeys.allConversations });
  void qc.invalidateQueries({ queryKey: chatKeys.conversation(id) });
}

/** useSend returns a function that streams a request in conversation `id` and updates the caches after. */
export function useSend(id: string): (what: SendKind) => Promise<StreamResult> {
  const qc = useQueryClient();
  const start = useChat((s) => s.start);
  return useCallback((what: SendKind) => start(id, what, (result) => settle(qc, id, what, result)), [qc, start, id]);
}
