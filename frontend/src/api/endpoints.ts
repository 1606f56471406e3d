/**
 * Every call the web UI makes, one function each, so that paths and bodies live in one place. Pages use these
 * through TanStack Query; nothing else builds an API URL.
 */
import { authedFetch, request, toApiError } from './client';
import type {
  AdminUsageReport,
  ApiToken,
  AuditAction,
  AuditEntry,
  Conversation,
  CreateUserInput,
  KeyTestResult,
  Message,
  ModelInfo,
  Page,
  PlatformInfo,
  ProviderKey,
  ProviderKeyInput,
  QuotaInForce,
  QuotaWindow,
  Role,
  SearchHit,
  Tag,
  TokenPair,
  UsageReport,
  User,
} from './types';

/** Query-string helper that drops empty values. */
export function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

/** Lists may come as a bare array or as a page; both read as an array. */
function items<T>(v: T[] | { items: T[] }): T[] {
  return Array.isArray(v) ? v : v.items;
}

const enc = encodeURIComponent;

export const authApi = {
  platform: () => request<PlatformInfo>('/info', { auth: false }),
  login: (login: string, password: string) =>
    request<TokenPair>('/auth/login', { method: 'POST', json: { login, password }, auth: false }),
  register: (input: { username: string; email: string; password: string; display_name?: string }) =>
    request<TokenPair>('/auth/register', { method: 'POST', json: input, auth: false }),
  logout: (refreshToken: string) =>
    request<undefined>('/auth/logout', { method: 'POST', json: { refresh_token: refreshToken } }),
  me: () => request<User>('/auth/me'),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<undefined>('/auth/change-password', {
      method: 'POST',
      json: { current_password: currentPassword, new_password: newPassword },
    }),
};

export const profileApi = {
  update: (input: { email?: string; display_name?: string }) =>
    request<User>('/users/me', { method: 'PATCH', json: input }),
  remove: (password: string) => request<undefined>('/users/me', { method: 'DELETE', json: { password } }),
};

/** The one pagination convention: a page size and the previous page's cursor. */
export interface ListParams {
  limit?: number;
  cursor?: string;
}

export const adminApi = {
  users: (p: ListParams & { q?: string; role?: Role; active?: 'true' | 'false' }) =>
    request<Page<User>>(`/admin/users${qs({ ...p })}`),
  createUser: (input: CreateUserInput) => request<User>('/admin/users', { method: 'POST', json: input }),
  activate: (id: string) => request<User>(`/admin/users/${enc(id)}/activate`, { method: 'POST' }),
  deactivate: (id: string) => request<User>(`/admin/users/${enc(id)}/deactivate`, { method: 'POST' }),
  setRole: (id: string, role: Role) => request<User>(`/admin/users/${enc(id)}/role`, { method: 'PUT', json: { role } }),
  removeUser: (id: string) => request<undefined>(`/admin/users/${enc(id)}`, { method: 'DELETE' }),
  audit: (p: ListParams & { action?: AuditAction; actor_id?: string }) =>
    request<Page<AuditEntry>>(`/admin/audit${qs({ ...p })}`),
  usage: (from: string, to: string) => request<AdminUsageReport>(`/admin/usage${qs({ from, to })}`),
  quotas: async () => items(await request<QuotaInForce[] | { items: QuotaInForce[] }>('/admin/quotas')),
};

export const modelsApi = {
  list: async () => items(await request<ModelInfo[] | { items: ModelInfo[] }>('/models')),
};

export const keysApi = {
  list: async () => items(await request<ProviderKey[] | { items: ProviderKey[] }>('/keys')),
  create: (input: ProviderKeyInput) => request<ProviderKey>('/keys', { method: 'POST', json: input }),
  update: (id: string, input: Partial<ProviderKeyInput>) =>
    request<ProviderKey>(`/keys/${enc(id)}`, { method: 'PATCH', json: input }),
  remove: (id: string) => request<undefined>(`/keys/${enc(id)}`, { method: 'DELETE' }),
  test: (id: string) => request<KeyTestResult>(`/keys/${enc(id)}/test`, { method: 'POST' }),
};

export const tokensApi = {
  list: async () => items(await request<ApiToken[] | { items: ApiToken[] }>('/tokens')),
  create: (input: { name: string; expires_at?: string; allowed_models?: string[] }) =>
    request<ApiToken>('/tokens', { method: 'POST', json: input }),
  revoke: (id: string) => request<undefined>(`/tokens/${enc(id)}`, { method: 'DELETE' }),
};

export const conversationsApi = {
  list: (p: ListParams & { tag_id?: string }) => request<Page<Conversation>>(`/conversations${qs({ ...p })}`),
  search: (p: ListParams & { q: string; conversation_id?: string }) =>
    request<Page<SearchHit>>(`/conversations/search${qs({ ...p })}`),
  get: (id: string) => request<Conversation>(`/conversations/${enc(id)}`),
  create: (input: { title?: string; model: string; system_prompt?: string }) =>
    request<Conversation>('/conversations', { method: 'POST', json: input }),
  update: (id: string, input: { title?: string; model?: string; system_prompt?: string }) =>
    request<Conversation>(`/conversations/${enc(id)}`, { method: 'PATCH', json: input }),
  remove: (id: string) => request<undefined>(`/conversations/${enc(id)}`, { method: 'DELETE' }),
  /** allMessages follows the cursor to the end: a long conversation is shown whole (oldest first). */
  allMessages: async (id: string): Promise<Message[]> => {
    const all: Message[] = [];
    let cursor: string | undefined;
    do {
      const page = await request<Page<Message>>(`/conversations/${enc(id)}/messages${qs({ limit: 100, cursor })}`);
      all.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor !== undefined && cursor !== '');
    return all;
  },
  /** Assumed (Chat issue): deletes this message and every later one. */
  deleteFrom: (id: string, messageId: string) =>
    request<undefined>(`/conversations/${enc(id)}/messages/${enc(messageId)}`, { method: 'DELETE' }),
  addTag: (id: string, tagId: string) =>
    request<undefined>(`/conversations/${enc(id)}/tags/${enc(tagId)}`, { method: 'PUT' }),
  removeTag: (id: string, tagId: string) =>
    request<undefined>(`/conversations/${enc(id)}/tags/${enc(tagId)}`, { method: 'DELETE' }),
  /** Downloads an export as a file ("markdown" or "json"). */
  exportFile: (id: string, format: 'markdown' | 'json') =>
    download(`/conversations/${enc(id)}/export${qs({ format })}`),
};

/**
 * The stream paths. Sending is documented; regenerate (body {}) and edit-and-resend (body {content}) are
 * assumed until the Chat issue documents them: both drop the answer(s) after the given user message and
 * stream a new answer, exactly like a send.
 */
export const chatPaths = {
  send: (id: string) => `/conversations/${enc(id)}/messages`,
  regenerate: (id: string, userMessageId: string) => `/conversations/${enc(id)}/messages/${enc(userMessageId)}/regenerate`,
  edit: (id: string, userMessageId: string) => `/conversations/${enc(id)}/messages/${enc(userMessageId)}/edit`,
};

export const tagsApi = {
  list: async () => (await request<Page<Tag>>(`/tags${qs({ limit: 100 })}`)).items,
  create: (input: { name: string; color?: string }) => request<Tag>('/tags', { method: 'POST', json: input }),
  remove: (id: string) => request<undefined>(`/tags/${enc(id)}`, { method: 'DELETE' }),
};

export const usageApi = {
  report: (from: string, to: string) => request<UsageReport>(`/usage${qs({ from, to })}`),
  quotas: async () => items(await request<QuotaWindow[] | { items: QuotaWindow[] }>('/usage/quotas')),
  csv: (from: string, to: string) => download(`/usage${qs({ from, to, format: 'csv' })}`),
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
