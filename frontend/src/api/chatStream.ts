/**
 * The chat stream client: POSTs a turn and reads the answer as Server-Sent Events (`delta`, `usage`, `done`,
 * `error`, and `: ping` heartbeats), as DESIGN §4 fixes them.
 *
 * Rules (tested in chatStream.test.ts):
 * - Never reconnect or resend on its own. A POST that reached the server created a user turn and started a
 *   generation; sending it again would duplicate both. The only retry is the one after a 401 (see client.ts),
 *   which the server refused before doing anything.
 * - A stream that ends without `done` or `error`, or that stays silent (not even a heartbeat) for
 *   `idleTimeoutMs`, is reported as `interrupted`. The server keeps what it generated, so the caller reloads
 *   the conversation's messages instead of sending again.
 * - Aborting the signal (the Stop button, leaving the page) cancels the fetch; the server stops generating and
 *   keeps the partial answer. The result is `aborted`, and the caller reloads the messages to show it.
 * - Refusals before the stream starts (4xx/5xx with a JSON error, such as a quota refusal as 429) and `error`
 *   events inside the stream both end as `error` with the server's code, message and quota details.
 * - There is no limit on the total duration: long answers are fine as long as bytes keep arriving.
 */
import { authedFetch, ApiError, toApiError } from './client';
import { readSSE } from './sse';
import type { RegenerateInput, SendMessageInput, StreamDone, StreamError, StreamUsage } from './types';

/** How long the stream may stay completely silent (no delta, no heartbeat) before it counts as cut. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** What the caller hears while the answer streams in. */
export interface StreamCallbacks {
  onDelta: (text: string) => void;
  onUsage?: (usage: StreamUsage) => void;
}

/** How a stream ended. */
export type StreamResult =
  | { outcome: 'done'; done: StreamDone; usage?: StreamUsage }
  | { outcome: 'error'; error: StreamError; status?: number }
  | { outcome: 'aborted' }
  | { outcome: 'interrupted' };

/** Where and what to send. `path` is relative to /api/v1; `stream` is left out of the body (the default, true). */
export interface StreamRequest {
  path: string;
  body: Omit<SendMessageInput, 'stream'> | Omit<RegenerateInput, 'stream'>;
  signal: AbortSignal;
  idleTimeoutMs?: number;
}

/** parseJSON decodes an event's data; malformed data reads as null. */
function parseJSON(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

/** isAborted reads the flag afresh (the compiler would otherwise keep its value from before the awaits). */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** streamChat sends one request and follows its stream to the end. It never throws for server-side failures. */
export async function streamChat(req: StreamRequest, cb: StreamCallbacks): Promise<StreamResult> {
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  req.signal.addEventListener('abort', onAbort);
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const idleMs = req.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  // Silence longer than idleMs aborts the fetch; the catch below then reports the stream as interrupted.
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => inner.abort(), idleMs);
  };
  try {
    if (req.signal.aborted) return { outcome: 'aborted' };
    touch();
    const res = await authedFetch(req.path, {
      method: 'POST',
      json: req.body,
      headers: { Accept: 'text/event-stream' },
      signal: inner.signal,
    });
    if (!res.ok) {
      const err = await toApiError(res);
      return { outcome: 'error', status: res.status, error: { code: err.code, message: err.message, quota: err.quota } };
    }
    if (res.body === null || !(res.headers.get('Content-Type') ?? '').startsWith('text/event-stream')) {
      return { outcome: 'error', status: res.status, error: { code: 'bad_stream', message: 'not an event stream' } };
    }
    const result = await follow(res.body, cb, touch, inner.signal);
    // A read cut short by the caller is a stop, not a failure; one cut by the idle timer stays interrupted.
    return result.outcome === 'interrupted' && isAborted(req.signal) ? { outcome: 'aborted' } : result;
  } catch (err) {
    if (req.signal.aborted) return { outcome: 'aborted' };
    if (err instanceof ApiError) return { outcome: 'error', status: err.status, error: { code: err.code, message: err.message } };
    return { outcome: 'interrupted' };
  } finally {
    clearTimeout(idleTimer);
    req.signal.removeEventListener('abort', onAbort);
  }
}

async function follow(body: ReadableStream<Uint8Array>, cb: StreamCallbacks, touch: () => void, signal: AbortSignal): Promise<StreamResult> {
  const seen: { result: StreamResult | null; usage?: StreamUsage } = { result: null };
  await readSSE(body, {
    onComment: touch,
    onEvent: (ev) => {
      touch();
      if (seen.result !== null) return;
      const data = parseJSON(ev.data);
      switch (ev.event) {
        case 'delta': {
          const text = (data as { text?: unknown } | null)?.text;
          if (typeof text === 'string') cb.onDelta(text);
          break;
        }
        case 'usage':
          if (data !== null) {
            seen.usage = data as StreamUsage;
            cb.onUsage?.(seen.usage);
          }
          break;
        case 'done':
          seen.result = data === null ? { outcome: 'interrupted' } : { outcome: 'done', done: data as StreamDone, usage: seen.usage };
          break;
        case 'error':
          seen.result = { outcome: 'error', error: data === null ? { code: 'stream_error', message: ev.data } : (data as StreamError) };
          break;
        default:
          // Unknown events are ignored so the server may add new ones.
          break;
      }
    },
  }, signal);
  return seen.result ?? { outcome: 'interrupted' };
}
