// The channel the page shows: its slug, kept on the device and in the address
// (?channel=SLUG, so a link opens a channel), added to every per-channel API call,
// and the server's list of channels, kept for the guide, the labels and the TV
// remote's channel keys.
import { api, ChannelInfo, ChannelList } from "./api";
import { el } from "./dom";

const KEY = "shufflecast.channel";

let slug: string | null = (() => {
  const param = new URLSearchParams(location.search).get("channel");
  if (param) localStorage.setItem(KEY, param);
  return param || localStorage.getItem(KEY);
})();
let list: ChannelList | null = null;
const listeners = new Set<(slug: string | null) => void>();

/** The selected channel's slug; null for the server's default channel. */
export function current(): string | null {
  return slug;
}

/** `path` with `?channel=` for the selected channel (none for the default). */
export function chan(path: string): string {
  if (!slug) return path;
  return `${path}${path.includes("?") ? "&" : "?"}channel=${encodeURIComponent(slug)}`;
}

/** Selects a channel: kept on the device and in the address; listeners follow. */
export function select(next: string | null): void {
  const s = next && list && next === list.default ? null : next;
  if (s === slug) return;
  slug = s;
  if (s) localStorage.setItem(KEY, s);
  else localStorage.removeItem(KEY);
  const q = new URLSearchParams(location.search);
  if (s) q.set("channel", s);
  else q.delete("channel");
  const search = q.toString();
  history.replaceState(history.state, "", `${location.pathname}${search ? `?${search}` : ""}${location.hash}`);
  listeners.forEach((fn) => fn(s));
}

/** Calls `fn` when another channel is selected; returns the unsubscriber. */
export function onSelect(fn: (slug: string | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Every channel, fresh from the server; a selection the server no longer has
 * (a deleted channel) falls back to the default channel. */
export async function channels(): Promise<ChannelList> {
  list = await api<ChannelList>("/api/channels");
  if (slug && !list.channels.some((c) => c.slug === slug)) select(null);
  return list;
}

/** The channels as last fetched, if they were. */
export function known(): ChannelList | null {
  return list;
}

/** The selected channel's entry in `l`. */
export function info(l: ChannelList | null = list): ChannelInfo | null {
  if (!l) return null;
  const want = slug ?? l.default;
  return l.channels.find((c) => c.slug === want) ?? null;
}

/** The channel `step` places away by number (wrapping), for the remote's keys. */
export function neighbour(step: number, l: ChannelList | null = list): ChannelInfo | null {
  if (!l || l.channels.length === 0) return null;
  const all = [...l.channels].sort((a, b) => a.number - b.number);
  const at = Math.max(0, all.findIndex((c) => c.slug === (slug ?? l.default)));
  return all[(((at + step) % all.length) + all.length) % all.length];
}

/** "3 · Cartoons": a channel in a few words. */
export function label(c: { number: number; name: string }): string {
  return `${c.number} · ${c.name}`;
}

/** A line saying which channel a view shows; it fills in when the list comes. */
export function channelLine(): HTMLElement {
  const line = el("p", { class: "channel-line muted", id: "view-channel" }, "Channel: …");
  const fill = (l: ChannelList | null) => {
    const c = info(l);
    line.textContent = c ? `Channel ${label(c)}` : slug ? `Channel ${slug}` : "The default channel";
    line.dataset.channel = c?.slug ?? slug ?? "";
  };
  fill(list);
  channels().then(fill, () => fill(list));
  return line;
}
