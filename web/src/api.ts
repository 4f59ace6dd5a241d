// Talking to the shufflecast server: JSON routes, the tokens kept on the device,
// errors in words, and the server-sent events stream.
import type { components } from "./api.gen";

const ADMIN_KEY = "shufflecast.adminToken";
const VIEWER_KEY = "shufflecast.viewerToken";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const tokens = {
  admin: (): string | null => localStorage.getItem(ADMIN_KEY),
  viewer: (): string | null => localStorage.getItem(VIEWER_KEY),
  set(kind: "admin" | "viewer", token: string | null): void {
    const key = kind === "admin" ? ADMIN_KEY : VIEWER_KEY;
    const t = token?.trim();
    if (t) localStorage.setItem(key, t);
    else localStorage.removeItem(key);
  },
};

/** Someone to ask for a token when the server refuses one (set by the app). */
export const onUnauthorized: { admin: () => void; viewer: () => void } = { admin: () => {}, viewer: () => {} };

/** A URL players and EventSource fetch themselves: they cannot send headers, so
 * the viewer token (when the server wants one) goes in the query. */
export function withToken(path: string): string {
  const t = tokens.viewer();
  if (!t) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(t)}`;
}

/** Says what went wrong in words a viewer understands. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return "The token is missing or wrong: set it with “Tokens”.";
    if (e.status === 403) return "This action is not allowed from this page's address.";
    if (e.status === 503) return "The stream is starting; it will be on air in a moment.";
    if (e.status >= 500) return `The server failed: ${e.message}`;
    return e.field ? `${e.field}: ${e.message}` : e.message;
  }
  if (e instanceof TypeError) return "The server does not answer. Is shufflecast running?";
  return e instanceof Error ? e.message : String(e);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = method === "GET" ? (tokens.viewer() ?? tokens.admin()) : tokens.admin();
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await r.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text.trim() || r.statusText };
  }
  if (!r.ok) {
    const err = new ApiError(r.status, data?.error ?? r.statusText, data?.field);
    if (r.status === 401) (method === "GET" ? onUnauthorized.viewer : onUnauthorized.admin)();
    throw err;
  }
  return data as T;
}

type Schemas = components["schemas"];

// The server's JSON, generated from its OpenAPI document into api.gen.ts
// (scripts/wire-check.sh): these names are what the views use.
export type StreamStatus = Schemas["StreamStatus"];
export type Clip = Schemas["ClipOnAir"];
export type Chunk = Schemas["Chunk"];
export type ChunkList = Schemas["ChunkList"];
export type ChunkDetail = Schemas["ChunkDetail"];
export type ChunkClip = Schemas["ChunkClip"];
export type AudioPage = Schemas["AudioPage"];
export type Track = Schemas["Track"];
export type LibraryPage = Schemas["LibraryPage"];
export type Video = Schemas["Video"];
export type LibraryCounts = Schemas["LibraryCounts"];
export type Job = Schemas["Job"];
export type Jobs = Schemas["Jobs"];
export type SystemUsage = Schemas["SystemUsage"];
export type Usage = Schemas["Usage"];
export type Played = Schemas["Played"];
export type Stats = Schemas["Stats"];
export type SettingsReply = Schemas["SettingsResponse"];
export type SettingsPatch = Schemas["SettingsPatch"];
export type ChannelInfo = Schemas["ChannelInfo"];
export type ChannelList = Schemas["ChannelList"];
export type Guide = Schemas["Guide"];
export type GuideChannel = Schemas["GuideChannel"];
export type GuideProgramme = Schemas["GuideProgramme"];
export type GuideClip = Schemas["GuideClip"];
export type DayAirtime = Schemas["DayAirtime"];

/** A server-sent event's name, and the payload that comes with it. */
type ServerEvent = Schemas["ServerEvent"];
export type EventName = ServerEvent["event"];
export type EventData<K extends EventName> = Extract<ServerEvent, { event: K }>["data"];

/** Server-sent events (of one channel: `path` with its `?channel=`); EventSource
 * reconnects by itself, `onState` says whether the connection is up so the page
 * can say when the server is gone. */
export function events(handlers: { [K in EventName]?: (data: EventData<K>) => void }, onState?: (up: boolean) => void, path = "/api/events"): EventSource {
  const es = new EventSource(withToken(path));
  for (const [name, fn] of Object.entries(handlers) as [EventName, (data: unknown) => void][]) {
    es.addEventListener(name, (ev) => fn(JSON.parse((ev as MessageEvent).data)));
  }
  es.onopen = () => onState?.(true);
  es.onerror = () => onState?.(false);
  return es;
}
