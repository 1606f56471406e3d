/**
 * The shapes of the API server's JSON, in one module: aliases of the types generated from
 * apiserver/openapi/openapi.yaml (schema.gen.ts, `npm run gen:api`), so that a change of the document shows
 * every place that disagrees as a compile error. Every page imports its types from here.
 *
 * Field names follow the server's snake_case JSON. Money is a decimal string in USD; times are RFC 3339.
 */
import type { components } from './schema.gen';

type Schemas = components['schemas'];

export type PlatformInfo = Schemas['PlatformInfo'];
export type Role = Schemas['Role'];
export type User = Schemas['User'];
export type TokenPair = Schemas['AuthResponse'];
export type Tag = Schemas['Tag'];
export type Conversation = Schemas['Conversation'];
export type CreateConversationInput = Schemas['CreateConversationRequest'];
export type UpdateConversationInput = Schemas['UpdateConversationRequest'];
export type Message = Schemas['Message'];
export type MessageUsage = Schemas['Usage'];
export type SearchHit = Schemas['SearchHit'];
export type AuditEntry = Schemas['AuditEntry'];
export type AuditAction = Schemas['AuditAction'];
export type SendMessageInput = Schemas['SendMessageRequest'];
export type RegenerateInput = Schemas['RegenerateRequest'];
export type CreateUserInput = Schemas['CreateUserRequest'];

/** The chat stream's `usage` event. */
export type StreamUsage = Schemas['Usage'];
/** The chat stream's `done` event (the same shape as the JSON answer). */
export type StreamDone = Schemas['SendMessageResponse'];

/** The error body of every non-2xx JSON answer of /api/v1. */
export type ErrorBody = Schemas['ErrorResponse'];

/**
 * Which quota refused a request, what remains and when it resets (429/403 answers and the chat `error`
 * event): apiserver/metering.Refusal. Amounts are in the limit's unit (requests, tokens, or USD).
 */
export type QuotaRefusal = Schemas['QuotaRefusal'];
/** The limits a quota can set, as the API names them. */
export type QuotaLimitName = QuotaRefusal['limit'];

/** The chat stream's `error` event: the error object of {@link ErrorBody}, without field details. */
export type StreamError = Pick<ErrorBody['error'], 'code' | 'message' | 'quota'>;

/** One page of a list: the items and, unless this is the last page, the cursor of the next one. */
export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

/** An unpaginated list, as /models, /keys, /tokens and the quota endpoints answer. */
export interface List<T> {
  items: T[];
}

/** A model the user may use now: a platform provider's or one of the user's own keys'. */
export type ModelInfo = Schemas['ModelInfo'];
export type ProviderType = Schemas['ProviderType'];

/** A user-supplied provider key; the secret itself is never returned, only its last characters. */
export type ProviderKey = Schemas['ProviderKey'];
export type KeyModel = Schemas['KeyModel'];
export type KeyModelInput = Schemas['KeyModelInput'];
export type CreateKeyInput = Schemas['CreateKeyRequest'];
export type UpdateKeyInput = Schemas['UpdateKeyRequest'];
export type KeyTestResult = Schemas['KeyTestResult'];

/** A platform provider's key pool as this replica sees it (admin). */
export type ProviderHealth = Schemas['ProviderHealth'];
export type KeyHealth = Schemas['KeyHealth'];

/** A personal API token for /v1; `token` is present only in the answer that created it. */
export type ApiToken = Schemas['APIToken'];
export type CreateTokenInput = Schemas['CreateTokenRequest'];

export type UsageTotals = Schemas['UsageTotals'];
export type UsageDay = Schemas['UsageDay'];
export type UsageByModel = Schemas['UsageByModel'];
export type UsageByProvider = Schemas['UsageByProvider'];
export type UsageReport = Schemas['UsageReport'];
export type UserUsage = Schemas['UserUsage'];
export type AdminUsageReport = Schemas['AdminUsageReport'];

/** Used and remaining amounts of one counted limit of one quota, for the current user. */
export type QuotaWindow = Schemas['QuotaWindow'];
/** A quota in force, as the API server applies it (from UserQuota objects). */
export type QuotaInForce = Schemas['QuotaInForce'];
