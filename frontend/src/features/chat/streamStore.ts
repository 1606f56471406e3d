/**
 * The chat store: the answers streaming right now, one per conversation, and the last failure of each. It lives
 * outside the components so that an answer keeps streaming while the user looks at another conversation.
 */
import { create } from 'zustand';
import { streamChat, type StreamRequest, type StreamResult } from '../../api/chatStream';
import { chatPaths, conversationsApi } from '../../api/endpoints';
import type { QuotaRefusal, StreamUsage } from '../../api/types';

/** What the user asked for: a new turn, a new answer to an earlier turn, or an edited earlier turn. */
export type SendKind = { kind: 'send'; content: string } | { kind: 'regenerate'; messageId: string } | { kind: 'edit'; messageId: string; content: string };

/** An answer being streamed. */
export interface ActiveStream {
  /** The user's text while the server has not confirmed the turn yet (absent for regenerate). */
  userText?: string;
  /** Messages from this one on are hidden while the replacement streams (regenerate, edit). */
  replaceFrom?: string;
  answer: string;
  usage?: StreamUsage;
  /** Stop was pressed: the server has been asked to stop, and the stream ends with what it kept. */
  stopping?: boolean;
  controller: AbortController;
}

/**
 * How long a stopped answer may keep streaming before the client cuts the connection itself (the stop request
 * failed, or reached the server before the answer had started there).
 */
export const STOP_GRACE_MS = 3000;

/** Why the last request of a conversation failed, in the words the UI shows. */
export interface StreamFailure {
  kind: 'error' | 'interrupted';
  code?: string;
  message?: string;
  quota?: QuotaRefusal;
  /** The text the user had typed, so it can be put back into the composer. */
  unsentText?: string;
}

export interface ChatState {
  streams: Record<string, ActiveStream>;
  failures: Record<string, StreamFailure>;
  /**
   * start sends and follows one stream; it resolves when the stream has ended, however it ended. `settle` runs
   * before the streamed bubble goes away (it puts the stored messages in place, so nothing flickers).
   */
  start: (conversationId: string, what: SendKind, settle?: (result: StreamResult) => Promise<void> | void) => Promise<StreamResult>;
  /**
   * stop asks the server to stop the conversation's answer (POST /stop, on whichever replica generates it);
   * the stream then ends normally with the kept partial answer (finish_reason `stopped`). When that request
   * fails, or the stream has not ended after STOP_GRACE_MS, the connection is cut, which stops it too.
   */
  stop: (conversationId: string) => void;
  clearFailure: (conversationId: string) => void;
}

function without<T>(rec: Record<string, T>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(rec).filter(([k]) => k !== key));
}

function request(conversationId: string, what: SendKind): Omit<StreamRequest, 'signal'> {
  switch (what.kind) {
    case 'send':
      return { path: chatPaths.send(conversationId), body: { content: what.content } };
    case 'regenerate':
      return { path: chatPaths.regenerate(conversationId, what.messageId), body: {} };
    case 'edit':
      return { path: chatPaths.edit(conversationId, what.messageId), body: { content: what.content } };
  }
}

/** failureOf turns a stream's end into the failure to show, or null when there is none to show. */
export function failureOf(result: StreamResult, what: SendKind): StreamFailure | null {
  const unsent = what.kind === 'regenerate' ? undefined : what.content;
  switch (result.outcome) {
    case 'done':
    case 'aborted':
      return null;
    case 'interrupted':
      return { kind: 'interrupted' };
    case 'error': {
      // Refused before the stream began (a status came back): the turn was not stored, so offer the text again.
      const refused = result.status !== undefined && result.status !== 200;
      const f: StreamFailure = { kind: 'error', code: result.error.code, message: result.error.message };
      if (result.error.quota !== undefined) f.quota = result.error.quota;
      if (refused && unsent !== undefined) f.unsentText = unsent;
      return f;
    }
  }
}

export const useChat = create<ChatState>((set, get) => ({
  streams: {},
  failures: {},
  start: async (conversationId, what, settle) => {
    get().streams[conversationId]?.controller.abort();
    const controller = new AbortController();
    const active: ActiveStream = { answer: '', controller };
    if (what.kind !== 'regenerate') active.userText = what.content;
    if (what.kind !== 'send') active.replaceFrom = what.messageId;
    set((s) => ({ streams: { ...s.streams, [conversationId]: active }, failures: without(s.failures, conversationId) }));
    const update = (fn: (a: ActiveStream) => ActiveStream) =>
      set((s) => {
        const cur = s.streams[conversationId];
        if (cur === undefined || cur.controller !== controller) return s;
        return { streams: { ...s.streams, [conversationId]: fn(cur) } };
      });
    const result = await streamChat(
      { ...request(conversationId, what), signal: controller.signal },
      {
        onDelta: (text) => update((a) => ({ ...a, answer: a.answer + text })),
        onUsage: (usage) => update((a) => ({ ...a, usage })),
      },
    );
    try {
      await settle?.(result);
    } catch {
      // The messages are re-read on the next visit; the stream's end is what matters here.
    }
    set((s) => {
      if (s.streams[conversationId]?.controller !== controller) return s;
      const failure = failureOf(result, what);
      return {
        streams: without(s.streams, conversationId),
        failures: failure === null ? s.failures : { ...s.failures, [conversationId]: failure },
      };
    });
    return result;
  },
  stop: (conversationId) => {
    const cur = get().streams[conversationId];
    if (cur === undefined || cur.stopping === true) return;
    const { controller } = cur;
    set((s) => ({ streams: { ...s.streams, [conversationId]: { ...(s.streams[conversationId] ?? cur), stopping: true } } }));
    conversationsApi.stop(conversationId).catch(() => controller.abort());
    setTimeout(() => {
      if (get().streams[conversationId]?.controller === controller) controller.abort();
    }, STOP_GRACE_MS);
  },
  clearFailure: (conversationId) => set((s) => ({ failures: without(s.failures, conversationId) })),
}));
