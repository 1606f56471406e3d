/**
 * Every call the web UI makes, one function each, so that paths and bodies live in one place. Pages use these
 * through TanStack Query; nothing else builds an API URL. Paths are written as the OpenAPI document's
 * templates ({@link p}), so a path the document does not describe is a compile error.
 */
import { authedFetch, request, toApiError } from './client';
import type { paths } from './schema.gen';
import type {
  AdminUsageReport,
  ApiToken,
  AuditAction,
  AuditEntry,
  Conversation,
  CreateConversationInput,
  CreateKeyInput,
  CreateTokenInput,
  CreateUserInput,
  KeyTestResult,
  List,
  Message,
  ModelInfo,
  Page,
  PlatformInfo,
  ProviderHealth,
  ProviderKey,
  QuotaInForce,
  QuotaWindow,
  Role,
  SearchHit,
  Tag,
  TokenPair,
  UpdateConversationInput,
  UpdateKeyInput,
  UsageReport,
  User,
} from './types';

/** A path of the OpenAPI document under /api/v1, relative to it ("/keys/{id}"). */
export type DocumentedPath = keyof paths extends infer K ? (K extends `/api/v1${infer R}` ? R : never) : never;

/** p fills the `{name}` parameters of a documented path template, URL-encoding each value. */
export function p(template: DocumentedPath, params: Record<string, string> = {}): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`path ${template}: no value for ${m}`);
    return encodeURIComponent(v);
  });
}

/** Query-string helper that drops empty values. */
export function qs(params: Record<string, string | number | undefined>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') s.set(k, String(v));
  }
  const out = s.toString();
  return out === '' ? '' : `?${out}`;
}

const items = async <T>(res: Promise<List<T>>): Promise<T[]> => (await res).items;

export const authApi = {
  platform: () => request<PlatformInfo>(p('/info'), { auth: false }),
  login: (login: string, password: string) =>
    request<TokenPair>(p('/auth/login'), { method: 'POST', json: { login, password }, auth: false }),
  register: (input: { username: string; email: string; password: string; display_name?: string }) =>
    request<TokenPair>(p('/auth/register'), { method: 'POST', json: input, auth: false }),
  logout: (refreshToken: string) =>
    request<undefined>(p('/auth/logout'), { method: 'POST', json: { refresh_token: refreshToken } }),
  me: () => request<User>(p('/auth/me')),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<undefined>(p('/auth/change-password'), {
      method: 'POST',
      json: { current_password: currentPassword, new_password: newPassword },
    }),
};

export const profileApi = {
  update: (input: { email?: string; display_name?: string }) =>
    request<User>(p('/users/me'), { method: 'PATCH', json: input }),
  remove: (password: string) => request<undefined>(p('/users/me'), { method: 'DELETE', json: { password } }),
};

/** The one pagination convention: a page size and the previous page's cursor. */
export interface ListParams {
  limit?: number;
  cursor?: string;
}

export const adminApi = {
  users: (q: ListParams & { q?: string; role?: Role; active?: 'true' | 'false' }) =>
    request<Page<User>>(p('/admin/users') + qs({ ...q })),
  createUser: (input: CreateUserInput) => request<User>(p('/admin/users'), { method: 'POST', json: input }),
  activate: (id: string) => request<User>(p('/admin/users/{id}/activate', { id }), { method: 'POST' }),
  deactivate: (id: string) => request<User>(p('/admin/users/{id}/deactivate', { id }), { method: 'POST' }),
  setRole: (id: string, role: Role) => request<User>(p('/admin/users/{id}/role', { id }), { method: 'PUT', json: { role } }),
  removeUser: (id: string) => request<undefined>(p('/admin/users/{id}', { id }), { method: 'DELETE' }),
  audit: (q: ListParams & { action?: AuditAction; actor_id?: string }) =>
    request<Page<AuditEntry>>(p('/admin/audit') + qs({ ...q })),
  usage: (from: string, to: string) => request<AdminUsageReport>(p('/admin/usage') + qs({ from, to, top: 50 })),
  usageCSV: (from: string, to: string) => download(p('/admin/usage') + qs({ from, to, format: 'csv' })),
  quotas: () => items(request<List<QuotaInForce>>(p('/admin/quotas'))),
  providers: () => items(request<List<ProviderHealth>>(p('/admin/providers'))),
};

export const modelsApi = {
  list: () => items(request<List<ModelInfo>>(p('/models'))),
};

export const keysApi = {
  list: () => items(request<List<ProviderKey>>(p('/keys'))),
  create: (input: CreateKeyInput) => request<ProviderKey>(p('/keys'), { method: 'POST', json: input }),
  update: (id: string, input: UpdateKeyInput) => request<ProviderKey>(p('/keys/{id}', { id }), { method: 'PATCH', json: input }),
  remove: (id: string) => request<undefined>(p('/keys/{id}', { id }), { method: 'DELETE' }),
  test: (id: string) => request<KeyTestResult>(p('/keys/{id}/test', { id }), { method: 'POST' }),
};

export const tokensApi = {
  list: () => items(request<List<ApiToken>>(p('/tokens'))),
  create: (input: CreateTokenInput) => request<ApiToken>(p('/tokens'), { method: 'POST', json: input }),
  revoke: (id: string) => request<undefined>(p('/tokens/{id}', { id }), { method: 'DELETE' }),
};

export const conversationsApi = {
  list: (q: ListParams & { tag_id?: string }) => request<Page<Conversation>>(p('/conversations') + qs({ ...q })),
  search: (q: ListParams & { q: string; conversation_id?: string }) =>
    request<Page<SearchHit>>(p('/conversations/search') + qs({ ...q })),
  get: (id: string) => request<Conversation>(p('/conversations/{id}', { id })),
  create: (input: CreateConversationInput) => request<Conversation>(p('/conversations'), { method: 'POST', json: input }),
  update: (id: string, input: UpdateConversationInput) =>
    request<Conversation>(p('/conversations/{id}', { id }), { method: 'PATCH', json: input }),
  remove: (id: string) => request<undefined>(p('/conversations/{id}', { id }), { method: 'DELETE' }),
  /** allMessages follows the cursor to the end: a long conversation is shown whole (oldest first). */
  allMessages: async (id: string): Promise<Message[]> => {
    const all: Message[] = [];
    let cursor: string | undefined;
    do {
      const page = await request<Page<Message>>(p('/conversations/{id}/messages', { id }) + qs({ limit: 100, cursor }));
      all.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor !== undefined && cursor !== '');
    return all;
  },
  /** deleteFrom deletes this message and every later one. */
  deleteFrom: (id: string, messageId: string) =>
    request<undefined>(p('/conversations/{id}/messages/{message_id}', { id, message_id: messageId }), { method: 'DELETE' }),
  /** stop stops the answers being generated in the conversation, on every replica; they end with `done`. */
  stop: (id: string) => request<undefined>(p('/conversations/{id}/stop', { id }), { method: 'POST' }),
  addTag: (id: string, tagId: string) =>
    request<undefined>(p('/conversations/{id}/tags/{tag_id}', { id, tag_id: tagId }), { method: 'PUT' }),
  removeTag: (id: string, tagId: string) =>
    request<undefined>(p('/conversations/{id}/tags/{tag_id}', { id, tag_id: tagId }), { method: 'DELETE' }),
  /** Downloads an export as a file ("markdown" or "json"). */
  exportFile: (id: string, format: 'markdown' | 'json') => download(p('/conversations/{id}/export', { id }) + qs({ format })),
};

/**
 * The stream paths: a send, a new answer to an earlier user message (regenerate) and an edited earlier user
 * message (edit); the last two drop every later message and stream a new answer exactly like a send.
 */
export const chatPaths = {
  send: (id: string) => p('/conversations/{id}/messages', { id }),
  regenerate: (id: string, userMessageId: string) =>
    p('/conversations/{id}/messages/{message_id}/regenerate', { id, message_id: userMessageId }),
  edit: (id: string, userMessageId: string) => p('/conversations/{id}/messages/{message_id}/edit', { id, message_id: userMessageId }),
};

export const tagsApi = {
  list: async () => (await request<Page<Tag>>(p('/tags') + qs({ limit: 100 }))).items,
  create: (input: { name: string; color?: string }) => request<Tag>(p('/tags'), { method: 'POST', json: input }),
  remove: (id: string) => request<undefined>(p('/tags/{id}', { id }), { method: 'DELETE' }),
};

export const usageApi = {
  report: (from: string, to: string) => request<UsageReport>(p('/usage') + qs({ from, to })),
  quotas: () => items(request<List<QuotaWindow>>(p('/usage/quotas'))),
  csv: (from: string, to: string) => download(p('/usage') + qs({ from, to, format: 'csv' })),
};

/** A downloaded file: its bytes and the name the server suggested. */
export interface DownloadedFile {
  blob: Blob;
  filename: string | null;
}

async function download(path: string): Promise<DownloadedFile> {
  const res = await authedFetch(path);
  if (!res.ok) throw await toApiError(res);
  const cd = res.headers.get('Content-Disposition') ?? '';
  const m = /filename="?([^";]+)"?/.exec(cd);
  return { blob: await res.blob(), filename: m?.[1] ?? null };
}

/** The absolute URL of the OpenAI-compatible endpoint, for snippets. */
export function v1BaseURL(origin: string): string {
  return `${origin}/v1`;
}
