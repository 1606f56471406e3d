/**
 * The shapes of the API server's JSON, in one module. Every page imports its types from here. Shapes the
 * OpenAPI document describes are aliases of the generated types (schema.gen.ts); the others are written by
 * hand from DESIGN §4 and the Chat and Metering issues, and become aliases as the document grows, so the
 * compiler shows every place that disagrees.
 *
 * Field names follow the server's snake_case JSON. Money is a decimal string in USD; times are RFC 3339.
 */
import type { components } from './schema.gen';

type Schemas = components['schemas'];

// ---- Documented in apiserver/openapi/openapi.yaml ----

export type PlatformInfo = Schemas['PlatformInfo'];
export type Role = Schemas['Role'];
export type User = Schemas['User'];
export type TokenPair = Schemas['AuthResponse'];
export type Tag = Schemas['Tag'];
export type Conversation = Schemas['Conversation'];
export type Message = Schemas['Message'];
export type MessageUsage = Schemas['Usage'];
export type SearchHit = Schemas['SearchHit'];
export type AuditEntry = Schemas['AuditEntry'];
export type AuditAction = Schemas['AuditAction'];
export type SendMessageInput = Schemas['SendMessageRequest'];
export type CreateUserInput = Schemas['CreateUserRequest'];
/** The chat stream's `usage` event. */
export type StreamUsage = Schemas['Usage'];
/** The chat stream's `done` event (the same shape as the JSON answer). */
export type StreamDone = Schemas['SendMessageResponse'];

/** The error body of every non-2xx JSON answer; `quota` is assumed (Metering issue). */
export type ErrorBody = Schemas['ErrorResponse'] & { error: { quota?: QuotaRefusal } };

/** One page of a list: the items and, unless this is the last page, the cursor of the next one. */
export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

// ---- Assumed: not in the document yet (Chat and Metering issues) ----

/** The limits a quota can set, as the API names them (apiserver/metering). */
export type QuotaLimitName =
  | 'requestsPerMinute'
  | 'tokensPerDay'
  | 'tokensPerMonth'
  | 'costPerMonth'
  | 'maxOutputTokensPerRequest'
  | 'allowedModels';

/**
 * Which quota refused a request, what remains and when it resets (chat `error` event and 429/403 answers):
 * apiserver/metering.Refusal. Amounts are in the limit's unit (requests, tokens, or USD as a decimal string).
 */
export interface QuotaRefusal {
  quota: string;
  limit: QuotaLimitName;
  used: string;
  max: string;
  remaining: string;
  reset_at?: string;
}

/** The chat stream's `error` event. */
export interface StreamError {
  code: string;
  message: string;
  quota?: QuotaRefusal;
}

export interface ModelPrice {
  input?: string;
  cached_input?: string;
  output?: string;
}

/** A model the user may use now: a platform provider's or one of the user's own keys'. */
export interface ModelInfo {
  id: string;
  name: string;
  provider: string;
  provider_type: string;
  source: 'platform' | 'user';
  pricing?: ModelPrice;
  context_window?: number;
}

export type ProviderType = 'OpenAI' | 'Anthropic' | 'Gemini' | 'Ollama' | 'OpenAICompatible';

/** A user-supplied provider key; the secret itself is never returned, only its last characters. */
export interface ProviderKey {
  id: string;
  name: string;
  provider_type: ProviderType;
  base_url?: string;
  models: string[];
  hint: string;
  created_at: string;
  last_used_at?: string | null;
}

export interface ProviderKeyInput {
  name: string;
  provider_type: ProviderType;
  base_url?: string;
  models: string[];
  api_key?: string;
}

export interface KeyTestResult {
  ok: boolean;
  message?: string;
  models?: string[];
}

/** A personal API token for /v1; `token` is present only in the answer that created it. */
export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  allowed_models?: string[];
  expires_at?: string | null;
  last_used_at?: string | null;
  revoked_at?: string | null;
  created_at: string;
  token?: string;
}

export interface UsageTotals {
  requests: number;
  prompt_tokens: number;
  cached_prompt_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cost_usd: string;
}

export interface UsageDay extends UsageTotals {
  date: string;
}

export interface UsageByModel extends UsageTotals {
  model: string;
  provider: string;
}

export interface UsageByProvider extends UsageTotals {
  provider: string;
}

/** Used and remaining amounts of one quota limit for the current user (the Refusal shape plus the mode). */
export interface QuotaWindow {
  quota: string;
  limit: Exclude<QuotaLimitName, 'allowedModels' | 'maxOutputTokensPerRequest'>;
  used: string;
  max: string;
  remaining: string;
  reset_at: string;
  mode: 'Enforce' | 'Shadow';
}

export interface UsageReport {
  from: string;
  to: string;
  summary: UsageTotals;
  by_day: UsageDay[];
  by_model: UsageByModel[];
  by_provider: UsageByProvider[];
}

export interface UserUsage extends UsageTotals {
  user_id: string;
  username: string;
}

export interface AdminUsageReport {
  from: string;
  to: string;
  summary: UsageTotals;
  by_user: UserUsage[];
  by_model: UsageByModel[];
  by_day: UsageDay[];
}

/** A quota in force, as the API server applies it (from UserQuota objects). */
export interface QuotaInForce {
  name: string;
  mode: 'Enforce' | 'Shadow';
  subjects: { users?: string[]; roles?: string[]; all_users?: boolean };
  limits: {
    requests_per_minute?: number;
    tokens_per_day?: number;
    tokens_per_month?: number;
    cost_per_month?: string;
    max_output_tokens_per_request?: number;
  };
  allowed_models?: string[];
  matched_users?: number;
}
