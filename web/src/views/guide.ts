// Guide: a timeline grid of what airs, one row per channel, time across from now
// on with a line at now. Each programme (a slot of the channel's grid, the same as
// the XMLTV guide's) is a block as long as it airs, with its picture and its title;
// focusing one (arrow keys in TV mode, the mouse or Tab elsewhere) shows its
// description and its known clips below the grid, with their pictures, titles and
// creators; Enter or a click on a row or a block selects that channel and plays
// it. The grid is rebuilt only when what it shows changes and no key was pressed
// for a few seconds, and the focus is put back on the same block, so a remote
// keeps its place across updates.
import { api, ChannelInfo, describe, Guide, GuideChannel, GuideProgramme, withToken } from "../api";
import { channels, current, label, select } from "../channel";
import { button, clock, el, hhmm } from "../dom";
import { picture, strip } from "../pictures";
import { say } from "../ui";

/** The span the grid shows at once, seconds (it scrolls sideways for more). */
const VISIBLE = 2.5 * 3600;
/** How far ahead the guide is asked for. */
const HOURS = 3;
/** Programmes per channel at most: enough for 3 hours of 5-minute programmes. */
const LIMIT = 40;
/** The narrowest a typical block may be, rem: below that the scale grows (chunks
 * of a few seconds would otherwise be slivers). */
const MIN_BLOCK_REM = 9;
/** Tick steps the time axis may use, seconds. */
const STEPS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
/** How long keys and the focus must rest before the grid is updated, ms. */
const KEYS_REST = 8000;

function span(p: GuideProgramme, seconds: boolean): string {
  return `${hhmm(p.start, seconds)}–${hhmm(p.stop, seconds)}`;
}

function key(slug: string, p: GuideProgramme): string {
  return `${slug}|${Math.round(p.start)}`;
}

interface Scale {
  /** Unix seconds at the left edge of the tracks. */
  t0: number;
  /** Unix seconds at their right edge. */
  t1: number;
  /** Pixels per second. */
  pps: number;
  /** Seconds between ticks. */
  step: number;
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function guide(view: HTMLElement): () => void {
  const add = el("a", { href: "#/channel/new", class: "tab", id: "channel-new" }, "New channel");
  const corner = el("div", { class: "epg-corner" }, el("span", { class: "muted small" }, "Channel"));
  const ticks = el("div", { class: "epg-ticks", "aria-hidden": "true" });
  const nowLine = el("div", { class: "epg-now", "aria-hidden": "true", id: "guide-now" });
  const list = el("ul", { class: "guide epg-rows", id: "guide", "aria-label": "Channels and what airs on them" });
  const body = el("div", { class: "epg-body" }, el("div", { class: "epg-times" }, corner, ticks), list, nowLine);
  const grid = el("div", { class: "epg", id: "guide-grid" }, body);
  const detail = el("section", { class: "epg-detail", id: "guide-detail", "aria-live": "polite", "aria-label": "Programme details" });
  view.replaceChildren(el("section", { class: "guide-view" }, el("div", { class: "row spread" }, el("h2", {}, "Guide"), add), grid, detail));

  let guideData: Guide | null = null;
  let infos = new Map<string, ChannelInfo>();
  /** Server time minus this device's, seconds: the now line follows the server. */
  let skew = 0;
  let scale: Scale | null = null;
  let shown = "";
  /** The programme the details show, by key; null: the selected channel's on air. */
  let detailKey: string | null = null;
  const programmes = new Map<string, { ch: GuideChannel; p: GuideProgramme }>();
  let alive = true;
  let first = true;
  let keyed = 0;
  const onKey = () => (keyed = Date.now());
  document.addEventListener("keydown", onKey, true);
  document.addEventListener("focusin", onKey, true);

  const now = () => Date.now() / 1000 + skew;
  const rem = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;

  const play = (slug: string) => {
    select(slug);
    location.hash = "#/live";
  };

  const measure = (g: Guide): Scale => {
    const head = corner.getBoundingClientRect().width || 15 * rem();
    const visiblePx = Math.max(8 * rem(), grid.clientWidth - head);
    const durations = g.channels.flatMap((c) => c.programmes.map((p) => p.stop - p.start)).filter((d) => d > 0);
    let pps = visiblePx / VISIBLE;
    const typical = median(durations);
    if (typical > 0 && typical * pps < MIN_BLOCK_REM * rem()) pps = (MIN_BLOCK_REM * rem()) / typical;
    const step = STEPS.find((s) => s * pps >= 6 * rem()) ?? 7200;
    const t = now();
    const t0 = Math.floor(t / step) * step;
    const end = Math.max(t0 + 1, ...g.channels.map((c) => c.programmes[c.programmes.length - 1]?.stop ?? t0));
    const t1 = Math.min(end, t0 + HOURS * 3600, t0 + Math.max(VISIBLE, visiblePx / pps));
    return { t0, t1: Math.max(t1, t0 + visiblePx / pps), pps, step };
  };

  const drawTicks = (s: Scale) => {
    ticks.replaceChildren();
    ticks.style.width = `${(s.t1 - s.t0) * s.pps}px`;
    for (let t = s.t0; t < s.t1; t += s.step) {
      const tick = el("span", { class: "epg-tick" }, hhmm(t, s.step < 60));
      tick.style.left = `${(t - s.t0) * s.pps}px`;
      ticks.append(tick);
    }
  };

  const block = (c: GuideChannel, p: GuideProgramme, s: Scale): HTMLElement | null => {
    const from = Math.max(p.start, s.t0);
    const to = Math.min(p.stop, s.t1);
    if (to <= from) return null;
    const seconds = s.step < 60;
    const k = key(c.slug, p);
    programmes.set(k, { ch: c, p });
    const pic = p.known ? p.thumbnail : (p.clips[0]?.thumbnail ?? p.thumbnail);
    const b = el(
      "button",
      {
        type: "button",
        class: `epg-block${p.on_air ? " on-air" : ""}`,
        "data-key": k,
        "data-channel": c.slug,
        "data-known": p.known ? "1" : "",
        "aria-label": `${p.title}, ${p.on_air ? "on air now, until" : `${hhmm(p.start, seconds)} to`} ${hhmm(p.stop, seconds)}, on ${c.number} · ${c.name}`,
      },
      picture(pic, `Picture of “${p.title}”`, "epg-pic"),
      el("span", { class: "epg-text" }, el("span", { class: "epg-title" }, p.title), el("span", { class: "epg-time muted small" }, p.on_air ? `Now · until ${hhmm(p.stop, seconds)}` : span(p, seconds))),
    );
    b.dataset.start = String(p.start);
    b.dataset.stop = String(p.stop);
    if (from > p.start || to < p.stop) b.dataset.clipped = "";
    b.style.left = `${(from - s.t0) * s.pps}px`;
    b.style.width = `${Math.max(2, (to - from) * s.pps - 2)}px`;
    const focus = () => {
      detailKey = k;
      showDetail();
    };
    b.addEventListener("focus", focus);
    b.addEventListener("mouseenter", focus);
    b.addEventListener("click", () => play(c.slug));
    return b;
  };

  // Who watches now: HLS players in the last minute and stream (tuner) clients.
  const watching = (c: GuideChannel): HTMLElement | null =>
    c.viewers.total
      ? el(
          "span",
          { class: "muted small viewers", "data-viewers": String(c.viewers.total), title: `${c.viewers.players} in browsers and HLS players, ${c.viewers.streams} on the continuous stream or a tuner` },
          `${c.viewers.total} watching`,
        )
      : null;

  const row = (c: GuideChannel, s: Scale): HTMLElement => {
    const info = infos.get(c.slug);
    const logo = el("img", { class: "logo", alt: "", loading: "lazy", src: withToken(c.logo) });
    const name = el("span", { class: "name" }, label(c));
    const head = el(
      "button",
      { type: "button", class: "guide-row", "data-channel": c.slug, "aria-label": `Play ${label(c)}` },
      logo,
      el("span", { class: "what" }, name, c.default ? el("span", { class: "muted small" }, "default") : null, watching(c)),
    );
    head.addEventListener("click", () => play(c.slug));
    head.addEventListener("focus", () => {
      detailKey = c.programmes[0] ? key(c.slug, c.programmes[0]) : null;
      showDetail();
    });
    const edit = button(info?.editable ? "Edit" : "Details", () => (location.hash = `#/channel/${encodeURIComponent(c.slug)}`), "ghost small-button");
    edit.dataset.edit = c.slug;
    const track = el("div", { class: "epg-track" });
    track.style.width = `${(s.t1 - s.t0) * s.pps}px`;
    for (const p of c.programmes) {
      const b = block(c, p, s);
      if (b) track.append(b);
    }
    if (!c.programmes.length) track.append(el("span", { class: "muted small epg-empty" }, "Nothing to show yet."));
    const li = el("li", { "data-channel": c.slug }, el("div", { class: "epg-head" }, head, edit), track);
    li.classList.toggle("selected", c.slug === (current() ?? guideData?.default));
    head.setAttribute("aria-current", li.classList.contains("selected") ? "true" : "false");
    return li;
  };

  const placeNow = () => {
    if (!scale) return;
    const head = corner.getBoundingClientRect().width;
    const x = (now() - scale.t0) * scale.pps;
    // Hidden once it would pass under the channel column (scrolled sideways).
    nowLine.hidden = x < grid.scrollLeft || now() > scale.t1;
    nowLine.style.left = `${head + x}px`;
  };

  const showDetail = () => {
    const g = guideData;
    if (!g) return;
    let item = detailKey ? programmes.get(detailKey) : undefined;
    if (!item) {
      const sel = current() ?? g.default;
      const c = g.channels.find((x) => x.slug === sel) ?? g.channels[0];
      const p = c?.programmes[0];
      if (c && p) item = { ch: c, p };
    }
    if (!item) {
      detail.replaceChildren(el("p", { class: "muted" }, "No programme to show yet."));
      return;
    }
    const { ch, p } = item;
    const seconds = (scale?.step ?? 60) < 60;
    detail.dataset.key = key(ch.slug, p);
    detail.replaceChildren(
      el("p", { class: "eyebrow" }, p.on_air ? "On air now" : "Coming up"),
      el("h3", { id: "guide-detail-title" }, p.title),
      el("p", { class: "muted" }, `${label(ch)} · ${span(p, seconds)} · ${clock(p.stop - p.start)}${p.new ? " · new" : ""}`),
      p.clips.length
        ? strip(
            p.clips.slice(0, 24).map((k) => ({ title: k.title, creator: k.creator, thumbnail: k.thumbnail, note: `${hhmm(k.start, true)} · ${clock(k.duration)}` })),
            `The clips of “${p.title}”`,
            "guide-clips",
          )
        : "",
      el("p", { class: "muted guide-description" }, p.known ? (p.whole ? "" : "More is being made for the rest of it.") : p.description),
    );
  };

  const render = (g: Guide) => {
    guideData = g;
    const s = measure(g);
    // What the grid shows; the same again (an update with nothing new) leaves it be.
    // Nothing moves under a remote (or keyboard) in use: an update waits until
    // the keys and the focus have rested a few seconds.
    if (shown && Date.now() - keyed < KEYS_REST) {
      placeNow();
      return;
    }
    const what = JSON.stringify([s.t0, s.pps.toFixed(4), s.t1.toFixed(0), current(), g.channels.map((c) => [c.slug, c.name, c.viewers.total, infos.get(c.slug)?.editable, c.programmes.map((p) => [p.start.toFixed(0), p.stop.toFixed(0), p.title, p.on_air, p.thumbnail, p.clips.length])])]);
    if (what !== shown) {
      shown = what;
      const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>("[data-key], .guide-row, [data-edit]");
      const focusKey = focused?.dataset.key ? `[data-key="${CSS.escape(focused.dataset.key)}"]` : focused?.matches(".guide-row") ? `.guide-row[data-channel="${CSS.escape(focused.dataset.channel ?? "")}"]` : focused?.dataset.edit ? `[data-edit="${CSS.escape(focused.dataset.edit)}"]` : null;
      scale = s;
      programmes.clear();
      drawTicks(s);
      list.replaceChildren(...(g.channels.length ? g.channels.map((c) => row(c, s)) : [el("li", { class: "muted" }, "No channel.")]));
      body.style.width = `${corner.getBoundingClientRect().width + (s.t1 - s.t0) * s.pps}px`;
      if (focusKey) list.querySelector<HTMLElement>(focusKey)?.focus({ preventScroll: true });
      // In TV mode the guide opens on what airs on the selected channel.
      const tv = document.documentElement.classList.contains("tv");
      if (first && tv && (document.activeElement === document.body || document.activeElement === add)) {
        const sel = CSS.escape(current() ?? g.default);
        (list.querySelector<HTMLElement>(`li[data-channel="${sel}"] .epg-block`) ?? list.querySelector<HTMLElement>(".epg-block"))?.focus({ preventScroll: true });
      }
      first = false;
    }
    placeNow();
    showDetail();
  };

  const load = async () => {
    try {
      const [g, l] = await Promise.all([api<Guide>(`/api/guide?hours=${HOURS}&limit=${LIMIT}`), channels()]);
      if (!alive) return;
      skew = g.now - Date.now() / 1000;
      infos = new Map(l.channels.map((c) => [c.slug, c]));
      render(g);
    } catch (e) {
      say(describe(e));
    }
  };
  // Asked again every 15 s, and as soon as a programme on air has ended (chunks
  // may be short), at most every 3 s.
  let loadedAt = 0;
  let loading = false;
  const tick = () => {
    placeNow();
    const since = Date.now() - loadedAt;
    const ended = guideData?.channels.some((c) => c.programmes[0] && c.programmes[0].stop < now() - 0.5) ?? true;
    if (loading || since < 3000 || (since < 15000 && !ended)) return;
    loading = true;
    loadedAt = Date.now();
    void load().finally(() => (loading = false));
  };
  tick();
  const line = window.setInterval(tick, 1000);
  grid.addEventListener("scroll", placeNow, { passive: true });
  const resized = () => guideData && render(guideData);
  window.addEventListener("resize", resized);
  return () => {
    alive = false;
    window.clearInterval(line);
    window.removeEventListener("resize", resized);
    document.removeEventListener("keydown", onKey, true);
    document.removeEventListener("focusin", onKey, true);
  };
}
