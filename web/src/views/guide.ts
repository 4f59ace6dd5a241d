// Guide: one row per channel (logo, number, name, what airs now with its
// progress, what airs next); a row selects its channel and plays it. The rows are
// updated in place every few seconds, so a remote's focus keeps its place.
import { ChannelInfo, ChannelList, describe, withToken } from "../api";
import { channels, current, label, select } from "../channel";
import { bar, button, clock, el, every } from "../dom";
import { say } from "../ui";

interface Row {
  li: HTMLElement;
  logo: HTMLImageElement;
  name: HTMLElement;
  now: HTMLElement;
  progress: HTMLProgressElement;
  time: HTMLElement;
  next: HTMLElement;
}

/** How far into what airs now, and how long it is: the programme's times when the
 * server knows them, else the clip's position. */
function airing(c: ChannelInfo): { pos: number; len: number } | null {
  if (c.programme && c.programme.stop > c.programme.start) {
    const len = c.programme.stop - c.programme.start;
    return { pos: Math.min(len, Math.max(0, Date.now() / 1000 - c.programme.start)), len };
  }
  const clip = c.now.clip;
  return clip ? { pos: clip.position, len: clip.duration } : null;
}

function nowText(c: ChannelInfo): string {
  const clip = c.now.clip;
  if (clip) return clip.creator ? `${clip.title} · ${clip.creator}` : clip.title;
  return c.now.slate ? "Back in a moment (slate)" : c.now.on_air ? "On air" : "Starting…";
}

export function guide(view: HTMLElement): () => void {
  const list = el("ul", { class: "guide", id: "guide" });
  const add = el("a", { href: "#/channel/new", class: "tab", id: "channel-new" }, "New channel");
  view.replaceChildren(el("section", {}, el("div", { class: "row spread" }, el("h2", {}, "Guide"), add), list));
  const rows = new Map<string, Row>();
  let order = "";

  const make = (c: ChannelInfo): Row => {
    const logo = el("img", { class: "logo", alt: "", loading: "lazy" });
    const name = el("span", { class: "name" });
    const now = el("span", { class: "now-title" });
    const progress = bar(`Progress on ${c.name}`);
    const time = el("span", { class: "muted small" });
    const next = el("span", { class: "muted small next" });
    const play = el(
      "button",
      { type: "button", class: "guide-row", "data-channel": c.slug },
      logo,
      el("span", { class: "what" }, name, now, progress, el("span", { class: "row spread" }, time, next)),
    );
    play.addEventListener("click", () => {
      select(c.slug);
      location.hash = "#/live";
    });
    const edit = button(c.editable ? "Edit" : "Details", () => (location.hash = `#/channel/${encodeURIComponent(c.slug)}`), "ghost");
    edit.dataset.edit = c.slug;
    const li = el("li", { "data-channel": c.slug }, play, edit);
    return { li, logo, name, now, progress, time, next };
  };

  const fill = (r: Row, c: ChannelInfo, selected: boolean) => {
    const src = withToken(c.logo);
    if (r.logo.getAttribute("src") !== src) r.logo.src = src;
    r.name.textContent = `${label(c)}${c.default ? " (default)" : ""}`;
    r.now.textContent = nowText(c);
    const a = airing(c);
    r.progress.value = a ? a.pos / Math.max(0.001, a.len) : 0;
    r.time.textContent = a ? `${clock(a.pos)} / ${clock(a.len)}` : "";
    r.next.textContent = c.next ? `Next: ${c.next}` : "";
    r.li.classList.toggle("selected", selected);
    r.li.querySelector(".guide-row")!.setAttribute("aria-current", selected ? "true" : "false");
  };

  const show = (l: ChannelList) => {
    const sel = current() ?? l.default;
    const keys = l.channels.map((c) => `${c.slug}:${c.editable}`).join(",");
    if (keys !== order) {
      order = keys;
      const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>("li[data-channel]")?.dataset.channel;
      rows.clear();
      for (const c of l.channels) rows.set(c.slug, make(c));
      list.replaceChildren(...[...rows.values()].map((r) => r.li));
      if (focused) rows.get(focused)?.li.querySelector<HTMLElement>(".guide-row")?.focus({ preventScroll: true });
    }
    for (const c of l.channels) fill(rows.get(c.slug)!, c, c.slug === sel);
    if (!l.channels.length) list.replaceChildren(el("li", { class: "muted" }, "No channel."));
  };

  return every(4000, () => channels().then(show, (e) => say(describe(e))));
}
