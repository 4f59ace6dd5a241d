// Talking to the shufflecast server: JSON routes, the admin token kept on the
// device, errors in words, and the server-sent events stream.

const TOKEN_KEY = "shufflecast.adminToken";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export function adminToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setAdminToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token.trim());
  else localStorage.removeItem(TOKEN_KEY);
}

/** Says what went wrong in words a viewer understands. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return "The admin token is missing or wrong: set it with “Admin token”.";
    if (e.status === 403) return "This action is not allowed from here.";
    if (e.status === 503) return "The stream is starting; it will be on air in a moment.";
    return e.field ? `${e.field}: ${e.message}` : e.message;
  }
  if (e instanceof TypeError) return "The server does not answer. Is shufflecast running?";
  return String(e);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const token = adminToken();
  if (init.method && init.method !== "GET" && token) headers["Authorization"] = `Bearer ${token}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, data?.error ?? r.statusText, data?.field);
  return data as T;
}

export interface Clip {
  id: string;
  title: string;
  creator: string | null;
  position: number;
  duration: number;
}

export interface StreamStatus {
  on_air: boolean;
  chunk: string | null;
  clip: Clip | null;
  track: { title: string; position: number; duration: number } | null;
  next_chunk: string | null;
}

export interface Chunk {
  id: string;
  state: "ready" | "building";
  clips: number;
  duration: number;
  size_bytes: number;
  times_aired: number;
  on_air: boolean;
  titles: string[];
}

export interface Usage {
  cpu_percent: number;
  memory_percent: number;
  disk_percent: number;
  data_bytes: number;
  gpus: { name: string; percent: number | null }[];
  nvenc_percent: number | null;
}

/** Server-sent events, reconnecting by themselves (EventSource does). */
export function events(handlers: Record<string, (data: any) => void>): EventSource {
  const es = new EventSource("/api/events");
  for (const [name, fn] of Object.entries(handlers)) {
    es.addEventListener(name, (ev) => fn(JSON.parse((ev as MessageEvent).data)));
  }
  return es;
}
