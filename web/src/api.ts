// Talking to the shufflecast server: JSON routes, the tokens kept on the device,
// errors in words, and the server-sent events stream.

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

export interface Clip {
  id: string;
  title: string;
  creator: string | null;
  source: string | null;
  source_start: number;
  position: number;
  duration: number;
}

export interface StreamStatus {
  on_air: boolean;
  /** The slate airs (no clip was ready); clip and chunk are null then. */
  slate: boolean;
  chunk: string | null;
  clip: Clip | null;
  track: { title: string; position: number; duration: number } | null;
  next_chunk: string | null;
  sequence: number;
}

export interface Chunk {
  id: string;
  state: "ready" | "building";
  clips: number;
  duration: number;
  size_bytes: number;
  times_aired: number;
  created_at: number;
  encoder: string;
  on_air: boolean;
  titles: string[];
}

export interface ChunkClip {
  index: number;
  source: string | null;
  title: string;
  creator: string | null;
  start: number;
  duration: number;
  size_bytes: number;
  encoder: string;
}

export interface Track {
  id: number;
  title: string;
  name: string;
  plays: number;
  airtime: number;
  error: string | null;
}

export interface Video {
  id: number;
  path: string;
  title: string;
  creator: string | null;
  duration: number | null;
  error: string | null;
  last_used: number | null;
  clips_cut: number;
  resets: number;
  airtime: number;
  used: { start: number; end: number }[];
  lru_rank: number | null;
}

export interface LibraryCounts {
  present: number;
  usable: number;
  unusable: number;
  pending: number;
}

export interface Job {
  chunk: string;
  clips_done: number;
  secs_done: number;
  target_secs: number;
  percent: number;
  speed: number | null;
  eta_secs: number | null;
  current_source: string | null;
}

export interface Jobs {
  state: "idle" | "generating" | "waiting_for_library" | "stalled" | "stopped";
  reason?: string;
  jobs: Job[];
  requested: number;
  next_run: string | null;
  encode_failures: number;
  clips_encoded: number;
}

export interface Usage {
  at: number;
  cpu_percent: number;
  memory_percent: number;
  memory_used: number;
  memory_total: number;
  gpus: { name: string; percent: number | null; memory_used: number | null; memory_total: number | null }[];
  nvenc_percent: number | null;
  data_bytes: number;
  disk_free: number;
  disk_total: number;
  disk_percent: number;
}

export interface Played {
  title: string;
  creator: string | null;
  plays: number;
  airtime: number;
}

export interface Stats {
  hours_streamed: number;
  chunks_created: number;
  chunks_aired: number;
  top_videos: Played[];
  top_tracks: Played[];
  top_creators: Played[];
}

export interface SettingsReply {
  settings: Record<string, string | number | boolean>;
  restart_fields: string[];
  pending_restart: string[];
}

/** Server-sent events; EventSource reconnects by itself, `onState` says whether
 * the connection is up so the page can say when the server is gone. */
export function events(handlers: Record<string, (data: any) => void>, onState?: (up: boolean) => void): EventSource {
  const es = new EventSource(withToken("/api/events"));
  for (const [name, fn] of Object.entries(handlers)) {
    es.addEventListener(name, (ev) => fn(JSON.parse((ev as MessageEvent).data)));
  }
  es.onopen = () => onState?.(true);
  es.onerror = () => onState?.(false);
  return es;
}
