/**
 * A Server-Sent Events parser for fetch() response bodies, following the WHATWG event-stream rules: lines end
 * in CR, LF or CRLF (also when the CR and LF arrive in different chunks); a blank line dispatches the event;
 * `data:` lines are joined with "\n"; one space after the colon is dropped; lines starting with ":" are
 * comments (the server's heartbeats); a half-received event at the end of the stream is discarded.
 *
 * EventSource is not used because it can only GET, and chat sending is a POST with a JSON body.
 */

/** One dispatched event. `event` is "message" when the server named none. */
export interface SSEEvent {
  event: string;
  data: string;
  id?: string;
}

/** Callbacks of an {@link SSEParser}. */
export interface SSEHandlers {
  onEvent: (event: SSEEvent) => void;
  /** Called for every comment line, such as the server's `: ping` heartbeat. */
  onComment?: (text: string) => void;
}

/** SSEParser turns decoded text chunks into events. Feed it with {@link SSEParser.push}. */
export class SSEParser {
  private buffer = '';
  private pendingCR = false;
  private eventType = '';
  private data: string[] = [];
  private lastId: string | undefined;

  constructor(private readonly handlers: SSEHandlers) {}

  /** push consumes one chunk of text, dispatching every event it completes. */
  push(chunk: string): void {
    if (chunk === '') return;
    let text = chunk;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 === this.buffer.length) this.pendingCR = true;
        else if (this.buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.handlers.onComment?.(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        // "retry" and unknown fields are ignored: this client never reconnects (see chatStream.ts).
        break;
    }
  }

  private dispatch(): void {
    const type = this.eventType;
    const data = this.data;
    this.eventType = '';
    this.data = [];
    if (data.length === 0) return;
    const event: SSEEvent = { event: type === '' ? 'message' : type, data: data.join('\n') };
    if (this.lastId !== undefined) event.id = this.lastId;
    this.handlers.onEvent(event);
  }
}

/**
 * readSSE reads a byte stream to its end, decoding UTF-8 across chunk boundaries and feeding the parser.
 * Aborting `signal` cancels the stream (which tells the server to stop) and ends the read early.
 */
export async function readSSE(body: ReadableStream<Uint8Array>, handlers: SSEHandlers, signal?: AbortSignal): Promise<void> {
  const parser = new SSEParser(handlers);
  const decoder = new TextDecoder('utf-8');
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  if (signal?.aborted === true) cancel();
  signal?.addEventListener('abort', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
  } finally {
    signal?.removeEventListener('abort', cancel);
    reader.releaseLock();
  }
}
