// Type declarations of orderchat-client (SPEC 14). The implementation is JavaScript
// (src/), checked against these declarations by `npm run typecheck`.

/** The subprotocol the server answers with (SPEC 2). */
export declare const SUBPROTOCOL: "orderchat.v1";

export type Role = "customer" | "vendor" | "rider" | "admin" | "service";
export type ClosedReason = "delivered" | "cancelled";

export interface Participant {
  userId: string;
  role: Role;
}

/** A photo carried by a message (SPEC 12). */
export interface Attachment {
  attachmentId: string;
  contentType: string;
  width: number;
  height: number;
  bytes: number;
}

/** A stored message: exactly the fields of SPEC 5.2. */
export interface Message {
  messageId: string;
  orderId: string;
  /** counts the room's messages from 1, no holes */
  seq: number;
  senderId: string;
  senderRole: Role;
  content: string;
  /** RFC 3339 UTC with milliseconds, set by the server */
  timestamp: string;
  clientMessageId: string | null;
  attachments: Attachment[];
}

/** The server's answer to one of your sends. */
export interface AckedMessage extends Message {
  /** true: this clientMessageId was already stored; this is the original message */
  duplicate: boolean;
}

export interface ConnectedData {
  orderId: string;
  readOnly: boolean;
  closedReason: ClosedReason | null;
  participants: Participant[];
  you: Participant;
  lastSeq: number;
}

export interface RoomClosedData {
  orderId: string;
  reason: ClosedReason;
  closedAt: string;
}

export interface ReadData {
  userId: string;
  seq: number;
}

export interface TypingData {
  userId: string;
}

/** GET /v1/rooms/{orderId} */
export interface RoomInfo {
  orderId: string;
  readOnly: boolean;
  closedReason: ClosedReason | null;
  createdAt: string;
  closedAt: string | null;
  participants: Participant[];
  lastSeq: number;
}

/** GET /v1/rooms/{orderId}/messages */
export interface MessagePage {
  messages: Message[];
  hasMore: boolean;
}

export interface HistoryQuery {
  afterSeq?: number;
  beforeSeq?: number;
  /** at most 200; the server's default is 50 */
  limit?: number;
}

export type PhotoType = "image/jpeg" | "image/png" | "image/webp";

/** POST /v1/rooms/{orderId}/attachments answer (SPEC 12). */
export interface UploadedPhoto {
  attachmentId: string;
  contentType: string;
  width: number;
  height: number;
  bytes: number;
}

/** GET /v1/rooms/{orderId}/quick-replies entry (SPEC 13). */
export interface QuickReply {
  id: string;
  text: string;
}

/** Codes of the server's `error` frame (SPEC 5.3). */
export type ServerErrorCode =
  | "INVALID_JSON"
  | "UNKNOWN_EVENT"
  | "INVALID_PAYLOAD"
  | "MESSAGE_EMPTY"
  | "MESSAGE_TOO_LONG"
  | "ROOM_READ_ONLY"
  | "FORBIDDEN"
  | "RATE_LIMITED"
  | "UNAVAILABLE"
  | "INVALID_ATTACHMENT";

/** The client's own codes: HTTP statuses, close codes, the client's life. */
export type ClientErrorCode =
  /** 401 on the upgrade or the API, or close 4401, still after one new token */
  | "UNAUTHORIZED"
  /** close 4403: the user is no longer a participant */
  | "ACCESS_REVOKED"
  /** 429 on the upgrade: 10 connections to the room already (retried) */
  | "TOO_MANY_CONNECTIONS"
  | "BAD_REQUEST"
  | "NOT_FOUND"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "HTTP_ERROR"
  /** the server cannot be reached (an API call) */
  | "NETWORK"
  /** close() was called while the send was pending */
  | "CLOSED";

export type ErrorCode = ServerErrorCode | ClientErrorCode;

export declare class OrderChatError extends Error {
  constructor(
    code: ErrorCode,
    message: string,
    options?: { status?: number | null; clientMessageId?: string | null; fatal?: boolean },
  );
  readonly code: ErrorCode;
  /** the HTTP status, for API and upgrade errors */
  readonly status: number | null;
  /** the send it refuses, if it is about one */
  readonly clientMessageId: string | null;
  /** true: the client stopped; retrying cannot help */
  readonly fatal: boolean;
}

/**
 * idle: not started; connecting; live: `connected` received; waiting: backing off
 * before the next attempt; stopped: close() was called or a fatal error stopped it.
 */
export type ConnectionState = "idle" | "connecting" | "live" | "waiting" | "stopped";

export interface StatusEvent {
  state: ConnectionState;
  /** reconnection attempts since the last `connected` */
  attempt: number;
  /** while waiting: the delay before the next attempt */
  delayMs: number | null;
}

export interface CloseEvent {
  /** the WebSocket close code (1006 when the connection failed) */
  code: number;
  reason: string;
  willReconnect: boolean;
}

export interface OrderChatEvents {
  /** every (re)connection; the client has already re-sent the pending sends */
  connected: ConnectedData;
  /** every stored message once, in seq order, with no gap: live, resumed or filled */
  message: Message;
  /** one of your sends is stored (also delivered as `message` if new) */
  ack: AckedMessage;
  /** a refusal (`clientMessageId` set when it is about a send) or a connection failure */
  error: OrderChatError;
  roomClosed: RoomClosedData;
  participantJoined: Participant;
  participantLeft: Participant;
  read: ReadData;
  typing: TypingData;
  status: StatusEvent;
  close: CloseEvent;
}

/**
 * Why the client asks for a token: at start, because the current one expires soon
 * (it is then sent with `authenticate`), or because the server refused it (asked once;
 * a second refusal stops the client with UNAUTHORIZED).
 */
export type TokenReason = "initial" | "expiring" | "unauthorized";
export type TokenProvider = (reason: TokenReason) => string | Promise<string>;

/** The part of the WebSocket API the client uses (browsers, React Native, Node, `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
}

/**
 * A WebSocket constructor. With `auth: "header"` it is called with a third argument
 * `{headers: {Authorization}}`, as React Native's and `ws`'s constructors take it.
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers: Record<string, string> },
) => WebSocketLike;

export interface OrderChatOptions {
  /** where orderchat serves `/chat` and `/v1`: `https://chat.example.com`; a function is asked at each attempt */
  baseUrl: string | (() => string);
  orderId: string;
  /** a fixed token, or use getToken */
  token?: string;
  /** asked for a token at start, before `exp`, and once after a refusal */
  getToken?: TokenProvider;
  /** `subprotocol` (default; browsers) or `header` (default in React Native; `ws`) */
  auth?: "subprotocol" | "header";
  /** the WebSocket constructor: default globalThis.WebSocket (Node 18-21: pass `ws`) */
  WebSocket?: WebSocketConstructor;
  /** default globalThis.fetch */
  fetch?: typeof fetch;
  /** reconnection backoff: the ceiling doubles from baseMs (500) to maxMs (15000), with jitter */
  backoff?: { baseMs?: number; maxMs?: number };
  /** ask for a new token this long before `exp` (default 60000) */
  refreshMarginMs?: number;
  /** send `ping` when nothing came for this long and reconnect if nothing answers (default 25000; 0: off) */
  pingIntervalMs?: number;
  /** the first wait before re-sending a RATE_LIMITED send (default 1000, doubling while refused) */
  rateLimitDelayMs?: number;
}

export interface SendOptions {
  attachmentIds?: string[];
  /** default: a new random UUID; reuse one to make a retry idempotent */
  clientMessageId?: string;
}

/** The promise of a send: resolves with the ack, rejects with an OrderChatError. */
export interface SendPromise extends Promise<AckedMessage> {
  readonly clientMessageId: string;
}

export interface PendingSend {
  clientMessageId: string;
  text: string;
  attachmentIds: string[];
}

export declare class OrderChatClient {
  constructor(options: OrderChatOptions);
  readonly orderId: string;
  readonly state: ConnectionState;
  /** the highest seq delivered as `message` (the resume point) */
  readonly lastSeq: number;
  readonly readOnly: boolean;
  readonly closedReason: ClosedReason | null;
  /** who the server says you are (after the first `connected`) */
  readonly me: Participant | null;
  readonly participants: Participant[];
  /** sends not acked yet, in the order they were made */
  readonly pending: PendingSend[];
  on<K extends keyof OrderChatEvents>(event: K, listener: (data: OrderChatEvents[K]) => void): () => void;
  off<K extends keyof OrderChatEvents>(event: K, listener: (data: OrderChatEvents[K]) => void): void;
  /** connect; `lastSeq`: deliver every message after it first (e.g. the last one of the history shown) */
  start(options?: { lastSeq?: number }): void;
  /** stop for good: the connection closes, pending sends reject with CLOSED */
  close(): void;
  /** skip the backoff wait (the device came back online, the app came to the foreground) */
  reconnectNow(): void;
  send(text: string, options?: SendOptions): SendPromise;
  /** say you read up to `seq` (default: lastSeq); false when not live or nothing new */
  markRead(seq?: number): boolean;
  /** say you are typing; false when not live or read-only */
  typing(): boolean;
  room(): Promise<RoomInfo>;
  history(query?: HistoryQuery): Promise<MessagePage>;
  uploadPhoto(data: Blob | ArrayBuffer | Uint8Array, contentType: PhotoType): Promise<UploadedPhoto>;
  quickReplies(options?: { language?: string }): Promise<QuickReply[]>;
  /** the bytes of a photo (or its thumbnail), fetched with the token */
  downloadAttachment(attachmentId: string, options?: { variant?: "thumbnail" }): Promise<Blob>;
}

/** A random UUID v4, the default clientMessageId. */
export declare function newClientMessageId(): string;
/** A JWT's `exp` in seconds, or null (decoded, not verified: the server verifies it). */
export declare function tokenExpiry(token: string): number | null;
/** The claims of a JWT, decoded, not verified; {} when it is not one. */
export declare function tokenClaims(token: string): Record<string, unknown>;
/** Backoff with "equal jitter": between half and all of min(maxMs, baseMs * 2^attempt). */
export declare function backoffDelay(
  attempt: number,
  options?: { baseMs?: number; maxMs?: number },
  random?: () => number,
): number;
