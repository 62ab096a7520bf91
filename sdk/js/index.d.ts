// Types of miniguard-sdk (the implementation is src/, built into miniprogram/index.js).
// The CommonJS entry's types; index.d.mts adds the ES module entry's default export.
// Checked by `npm run types` (tsc, strict) against test/types/.

/** The platforms the SDK knows: they pick `wx` / `my` / `tt` and the login route. */
export type Platform = 'wechat' | 'alipay' | 'douyin';

/** Every stable error code (see README.md, "createClient(options)"). */
export type MiniguardErrorCode =
  | 'insecure_url'
  | 'no_csprng'
  | 'invalid_request'
  | 'invalid_response'
  | 'transport'
  | 'login_failed'
  | 'login_required'
  | 'http'
  | 'storage_format'
  | 'storage_wrong_key'
  | 'storage_tampered'
  | 'storage';

/** Every failure of the SDK; `code` is stable, the message is for people. */
export declare class MiniguardError extends Error {
  constructor(code: MiniguardErrorCode | string, message: string, extra?: Record<string, unknown>);
  code: MiniguardErrorCode;
  /** `http`: the answer's status. */
  status?: number;
  /** `http`: the problem type URI (`about:blank` when the server sent none). */
  type?: string;
  /** `http`: the problem title. */
  title?: string;
  /** `http`: the problem detail, when the server sent one. */
  detail?: string;
  /** `http`: the server's request id, to quote in a support request. */
  requestId?: string;
  /** `http` 429 and 503: seconds from the `Retry-After` header. */
  retryAfter?: number;
  /** `storage_wrong_key`: the key id that sealed the value. */
  keyId?: number;
  /** `storage_wrong_key`: the current key id. */
  currentKeyId?: number;
}

/** What a transport is asked to send: `body` is the exact text that was hashed ('' for none). */
export interface TransportRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** What a transport answers: `body` as text (or a value the platform already parsed). */
export interface TransportResponse {
  status: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: unknown;
}

export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** Synchronous storage, like `wx.getStorageSync` / `wx.setStorageSync`. */
export interface SyncStorage {
  getItem(key: string): unknown;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ClientOptions {
  /** `https://host[:port][/prefix]`; plain http only for a loopback host with `dev: true`. */
  baseUrl: string;
  platform: Platform;
  /** Transport; default: the platform's `request`. */
  request?: Transport;
  /** Storage for `secureStorage`; default: the platform's synchronous storage. */
  storage?: SyncStorage;
  /** WebCrypto shape: fills the array (may return it, or a Promise of it). */
  getRandomValues?: (array: Uint8Array) => Uint8Array | void | Promise<Uint8Array | void>;
  /** Clock in milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
  /** Platform login code; default `wx.login` / `my.getAuthCode` / `tt.login`. */
  login?: () => Promise<string>;
  /** The platform object to use instead of the global `wx` / `my` / `tt`. */
  api?: object;
  /** Allow plain http to 127.0.0.1, localhost or [::1] (development only). */
  dev?: boolean;
}

export interface LoginResult {
  user?: { id: number; new?: boolean };
  /** Lifetime of the access token in seconds. */
  expiresIn: number;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  /** Default `GET`. */
  method?: string;
  /** Starts with `/`; no query inside (pass `query`). */
  path: string;
  /** A raw query string, or an object (arrays repeat the key). */
  query?: string | Record<string, QueryValue | QueryValue[]>;
  /** Sent as JSON; a string is sent as is. */
  data?: unknown;
}

/** A 2xx answer (anything else is thrown as a `MiniguardError`). */
export interface Response<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the answer is JSON, the text otherwise, `null` for no body. */
  data: T;
}

export interface Client {
  readonly platform: Platform;
  /** Platform login, then `POST /v1/auth/<platform>/login`. */
  login(): Promise<LoginResult>;
  /** A signed request; refreshes the session first when needed. */
  request<T = any>(options: RequestOptions): Promise<Response<T>>;
  /** Ends this login on the server and forgets it locally. */
  logout(): Promise<void>;
  /** Ends every login of the user on the server and forgets this one locally. */
  logoutAll(): Promise<void>;
  /** Spends the refresh token now (normally automatic). */
  refresh(): Promise<void>;
  isLoggedIn(): boolean;
}

export declare function createClient(options: ClientOptions): Client;

export interface SecureStorage {
  /** Seals `value` (anything JSON can hold) under the user's storage key. */
  set(name: string, value: unknown): Promise<void>;
  /** The value, or `null` when there is none. */
  get<T = unknown>(name: string): Promise<T | null>;
  remove(name: string): Promise<void>;
}

export declare function secureStorage(client: Client, options?: { storage?: SyncStorage }): SecureStorage;

/** The parts of a request that the signature covers (docs/protocol.md). */
export interface SignedParts {
  method: string;
  path: string;
  /** Raw query string without `?`. */
  query?: string;
  /** Unix seconds. */
  timestamp: number | string;
  /** base64url without padding, 16 to 64 bytes. */
  nonce: string;
  body?: string | Uint8Array | null;
}

export declare function canonicalQuery(raw: string): string;
export declare function canonicalRequest(parts: SignedParts): string;
/** Lower-case hex SHA-256 of the body (a string is hashed as UTF-8). */
export declare function bodySha256(body?: string | Uint8Array | null): string;
/** `X-MG-Signature`: base64url(HMAC-SHA256(key, canonical request)). */
export declare function sign(signingKey: string | Uint8Array, parts: SignedParts): string;
export declare function signatureHeaders(
  signingKey: string | Uint8Array,
  parts: SignedParts
): { 'X-MG-Timestamp': string; 'X-MG-Nonce': string; 'X-MG-Signature': string };
export declare function utf8Encode(text: string): Uint8Array;
export declare function utf8Decode(bytes: Uint8Array): string;
export declare function b64urlEncode(bytes: Uint8Array): string;
/** `null` when the text is not base64url without padding. */
export declare function b64urlDecode(text: string): Uint8Array | null;
