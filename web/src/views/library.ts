// Library: the chunks (their picture strips and titles, search, sort, pages, their
// clips, a preview, play next, delete), the music (search, listen, play next) and
// the source videos (posters, LRU rank, ranges used, errors).
import { api, AudioPage, Chunk, ChunkDetail, ChunkList, describe, events, LibraryPage, Track, Video, withToken } from "../api";
import { ago, button, bytes, clock, debounce, el, hours } from "../dom";
import { chan, channelLine } from "../channel";
import { attach } from "../player";
import { picture, strip } from "../pictures";
import { act, say } from "../ui";


/** Plays a chunk's preview (its VOD playlist) in a dialog, with "Play next". */
function preview(c: Chunk, playNext: () => Promise<unknown>): void {
  const title = c.title;
  const video = el("video", { controls: true, playsinline: true, autoplay: true, muted: true, id: "preview-video", "aria-label": `Preview of ${title}` });
  video.muted = true;
  const problem = el("p", { class: "warn", id: "preview-problem", hidden: true });
  const next = button("Play next", async () => {
    await playNext();
    dialog.close();
  });
  next.id = "preview-play-next";
  const close = button("Close", () => dialog.close(), "ghost");
  close.id = "preview-close";
  const dialog = el(
    "dialog",
    { class: "preview", id: "preview-dialog", "aria-labelledby": "preview-title" },
    el("h2", { id: "preview-title" }, title),
    el("p", { class: "muted small" }, `Chunk ${c.id} · ${clock(c.duration)} · the pictures only (the music is the channel's)`),
    el("div", { class: "player" }, video),
    problem,
    el("div", { class: "row" }, next, close),
  );
  const url = c.preview;
  video.dataset.src = url;
  document.body.append(dialog);
  const player = attach(video, withToken(url), (msg) => {
    problem.hidden = !msg;
    problem.textContent = msg ?? "";
  }, { vod: true });
  dialog.addEventListener("close", () => {
    player.destroy();
    dialog.remove();
  });
  dialog.showModal();
  next.focus();
}

const PAGE = 12;

function tabs(current: string): HTMLElement {
  const tab = (id: string, label: string) =>
    el("a", { href: `#/library/${id}`, class: current === id ? "tab active" : "tab", "aria-current": current === id ? "page" : false }, label);
  return el("div", {}, channelLine(), el("nav", { class: "tabs", "aria-label": "Library" }, tab("chunks", "Chunks"), tab("music", "Music"), tab("videos", "Source videos")));
}

/** Previous / next page buttons and the position. */
function pager(offset: number, shown: number, total: number | null, go: (offset: number) => void): HTMLElement {
  const prev = button("‹ Previous", () => go(Math.max(0, offset - PAGE)), "ghost");
  prev.disabled = offset === 0;
  const nextDisabled = total === null ? shown < PAGE : offset + shown >= total;
  const next = button("Next ›", () => go(offset + PAGE), "ghost");
  next.disabled = nextDisabled;
  const where = shown === 0 ? "nothing" : `${offset + 1}–${offset + shown}${total === null ? "" : ` of ${total}`}`;
  return el("div", { class: "row pager" }, prev, el("span", { class: "muted" }, where), next);
}

export function library(view: HTMLElement, sub: string): () => void {
  if (sub === "music") return music(view);
  if (sub === "videos") return videos(view);
  return chunks(view);
}

function chunks(view: HTMLElement): () => void {
  const search = el("input", { type: "search", placeholder: "Search chunks by id or clip title", "aria-label": "Search chunks", id: "chunk-search" });
  const sort = el(
    "select",
    { "aria-label": "Sort by", id: "chunk-sort" },
    ...[
      ["created", "Newest"],
      ["aired", "Last aired"],
      ["times_aired", "Times aired"],
      ["size", "Size"],
      ["duration", "Length"],
    ].map(([v, l]) => el("option", { value: v }, l)),
  );
  const order = el("select", { "aria-label": "Order", id: "chunk-order" }, el("option", { value: "desc" }, "Descending"), el("option", { value: "asc" }, "Ascending"));
  const list = el("ul", { class: "list", id: "chunk-list" });
  const pages = el("div");
  view.replaceChildren(el("section", {}, tabs("chunks"), el("div", { class: "row filters" }, search, sort, order), list, pages));
  let offset = 0;
  let alive = true;

  const clipsOf = async (c: Chunk, box: HTMLElement) => {
    try {
      const r = await api<ChunkDetail>(chan(`/api/chunks/${encodeURIComponent(c.id)}`));
      box.replaceChildren(
        strip(
          r.clip_list.map((k) => ({
            title: k.title,
            creator: k.creator,
            thumbnail: k.thumbnail,
            note: `${k.source ? (k.source.split("/").pop() ?? k.source) : "slate"} at ${clock(k.start)} for ${k.duration.toFixed(1)} s`,
          })),
          `The clips of chunk ${c.id}`,
        ),
      );
    } catch (e) {
      box.replaceChildren(el("p", { class: "warn" }, describe(e)));
    }
  };

  const row = (c: Chunk) => {
    const details = el("div", { class: "details", hidden: true });
    const toggle = button("Clips", async () => {
      details.hidden = !details.hidden;
      toggle.setAttribute("aria-expanded", String(!details.hidden));
      if (!details.hidden) await clipsOf(c, details);
    }, "ghost");
    toggle.setAttribute("aria-expanded", "false");
    const playNext = async () => {
      if (await act(chan("/api/play_chunk"), `Chunk ${c.id} airs next.`, { chunk_id: c.id })) void load();
    };
    const play = button("Play next", playNext);
    play.dataset.chunk = c.id;
    const look = button("Preview", () => preview(c, playNext), "ghost");
    look.dataset.preview = c.id;
    const del = button("Delete", async () => {
      if (!window.confirm(`Delete chunk ${c.id} and its files?`)) return;
      if (await act(chan(`/api/chunks/${encodeURIComponent(c.id)}`), `Chunk ${c.id} deleted.`, undefined, "DELETE")) void load();
    }, "ghost danger");
    del.disabled = c.on_air;
    const title = c.title;
    return el(
      "li",
      { "data-chunk": c.id },
      picture(c.thumbnail, `The pictures of “${title}”`, "chunk-strip"),
      el("div", { class: "row spread" }, el("strong", { class: "chunk-title" }, title), c.on_air ? el("span", { class: "badge" }, "ON AIR") : null, c.state === "building" ? el("span", { class: "badge building" }, "BEING MADE") : null, c.held ? el("span", { class: "badge building", title: "A test chunk: it airs only when played next" }, "TEST") : null),
      el("p", { class: "muted small chunk-id" }, c.id),
      el("p", { class: "muted" }, `${c.clips} clip${c.clips === 1 ? "" : "s"} · ${clock(c.duration)} · ${bytes(c.size_bytes)} · aired ${c.times_aired}× · made ${ago(c.created_at)} · ${c.encoder}`),
      el("p", { class: "titles" }, c.titles.slice(0, 5).join(" · ") + (c.titles.length > 5 ? " …" : "")),
      c.state === "ready" ? el("div", { class: "row" }, look, play, toggle, del) : null,
      details,
    );
  };

  const load = async () => {
    try {
      const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE), q: search.value, sort: sort.value, order: order.value });
      const r = await api<ChunkList>(chan(`/api/chunks?${q}`));
      if (!alive) return;
      list.replaceChildren(...(r.chunks.length ? r.chunks.map(row) : [el("li", { class: "muted" }, search.value ? "No chunk matches." : "No chunk yet: the first ones are being made.")]));
      pages.replaceChildren(pager(offset, r.chunks.length, r.total, (o) => {
        offset = o;
        void load();
      }));
    } catch (e) {
      say(describe(e));
    }
  };
  const reload = () => {
    offset = 0;
    void load();
  };
  search.oninput = debounce(250, reload);
  sort.onchange = reload;
  order.onchange = reload;
  void load();
  // New chunks show up without a reload, unless a clip list is open or the focus is
  // in the view. Not in TV mode: rows moving under a remote's focus lose its place.
  let encoded = -1;
  const refresh = debounce(1000, () => {
    if (document.documentElement.classList.contains("tv")) return;
    if (!list.querySelector(".details:not([hidden])") && !view.contains(document.activeElement)) void load();
  });
  const es = events({
    jobs: (j) => {
      if (encoded !== -1 && j.clips_encoded !== encoded) refresh();
      encoded = j.clips_encoded;
    },
  }, undefined, chan("/api/events"));
  return () => {
    alive = false;
    es.close();
  };
}

function music(view: HTMLElement): () => void {
  const search = el("input", { type: "search", placeholder: "Search music", "aria-label": "Search music", id: "music-search" });
  const list = el("ul", { class: "list", id: "track-list" });
  const now = el("p", { class: "muted" });
  const pages = el("div");
  // One track heard at a time, in the page (not on air): its own player.
  const audio = el("audio", { controls: true, preload: "none", id: "track-audio", "aria-label": "Track preview" });
  const hearing = el("p", { class: "muted small", id: "track-hearing" });
  const listener = el("div", { class: "listen", hidden: true }, hearing, audio);
  view.replaceChildren(el("section", {}, tabs("music"), now, search, listener, list, pages));
  let offset = 0;
  let alive = true;
  let heard: string | null = null;
  const syncButtons = () => {
    for (const b of list.querySelectorAll<HTMLButtonElement>("button[data-listen]")) {
      const on = b.dataset.listen === heard && !audio.paused;
      b.textContent = on ? "Stop" : "Listen";
      b.setAttribute("aria-pressed", String(on));
    }
  };
  for (const ev of ["play", "pause", "ended", "emptied"]) audio.addEventListener(ev, syncButtons);
  audio.addEventListener("error", () => {
    if (heard) say(`The track cannot be played here (${audio.error?.message || "error"}).`);
  });
  const listen = (t: Track) => {
    if (heard === t.path && !audio.paused) {
      audio.pause();
      audio.currentTime = 0;
      return;
    }
    const url = t.url;
    heard = t.path;
    hearing.textContent = `Listening: ${t.title}`;
    listener.hidden = false;
    audio.src = withToken(url);
    audio.dataset.track = t.path;
    void audio.play().catch((e) => say(`The track cannot be played here: ${describe(e)}`));
  };
  const load = async () => {
    try {
      const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE), q: search.value });
      const r = await api<AudioPage>(chan(`/api/audio?${q}`));
      if (!alive) return;
      now.textContent = r.now_playing ? `Playing: ${r.now_playing}` : "No music playing.";
      list.replaceChildren(
        ...(r.tracks.length
          ? r.tracks.map((t) => {
              const hear = button("Listen", () => listen(t), "ghost");
              hear.dataset.listen = t.path;
              hear.setAttribute("aria-label", `Listen to ${t.title}`);
              return el(
                "li",
                { "data-track": t.name },
                el("strong", {}, t.title),
                el("p", { class: "muted" }, `${t.name} · ${t.duration ? clock(t.duration) : "length not known yet"} · played ${t.plays}× · ${hours(t.airtime)} on air`),
                t.error
                  ? el("div", {}, el("p", { class: "warn" }, `Skipped: ${t.error}`), el("div", { class: "row" }, hear))
                  : el("div", { class: "row" }, hear, button("Play next", () => act(chan("/api/play_audio"), `“${t.title}” plays next.`, { track_id: t.name }))),
              );
            })
          : [el("li", { class: "muted" }, search.value ? "No track matches." : "No music: set AUDIO_FOLDER to a folder of tracks.")]),
      );
      syncButtons();
      pages.replaceChildren(pager(offset, r.tracks.length, r.total, (o) => {
        offset = o;
        void load();
      }));
    } catch (e) {
      say(describe(e));
    }
  };
  search.oninput = debounce(250, () => {
    offset = 0;
    void load();
  });
  void load();
  return () => {
    alive = false;
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
  };
}

/** The parts of a video already cut, drawn over its length. */
function rangesBar(v: Video): HTMLElement {
  const box = el("div", { class: "ranges", role: "img" });
  const d = v.duration ?? 0;
  const used = v.used.reduce((s, r) => s + (r.end - r.start), 0);
  box.setAttribute("aria-label", d ? `${Math.round((100 * used) / d)}% used` : "not probed");
  if (d > 0) {
    for (const r of v.used) {
      const s = el("span");
      s.style.left = `${(100 * r.start) / d}%`;
      s.style.width = `${Math.max(0.5, (100 * (r.end - r.start)) / d)}%`;
      box.append(s);
    }
  }
  return box;
}

function videos(view: HTMLElement): () => void {
  const counts = el("p", { class: "muted", id: "video-counts" });
  const list = el("ul", { class: "list", id: "video-list" });
  const pages = el("div");
  view.replaceChildren(el("section", {}, tabs("videos"), counts, list, pages));
  let offset = 0;
  let alive = true;
  const load = async () => {
    try {
      const r = await api<LibraryPage>(chan(`/api/library?offset=${offset}&limit=${PAGE}`));
      if (!alive) return;
      const c = r.counts;
      counts.textContent = `${c.present} videos: ${c.usable} usable, ${c.unusable} unusable, ${c.pending} being probed. Least recently used first.`;
      list.replaceChildren(
        ...r.videos.map((v) =>
          el(
            "li",
            { class: "video", "data-video": String(v.id) },
            picture(v.thumbnail, `Poster of “${v.title}”`, "poster"),
            el(
              "div",
              { class: "video-text" },
              el("div", { class: "row spread" }, el("strong", {}, v.lru_rank !== null ? `#${v.lru_rank} ` : "", v.title), v.creator ? el("span", { class: "muted" }, v.creator) : null),
              el("p", { class: "muted small" }, v.path),
              v.error
                ? el("p", { class: "warn" }, `Unusable: ${v.error}`)
                : el("p", { class: "muted" }, `${clock(v.duration)} · ${v.clips_cut} clips cut · used up ${v.resets}× · ${hours(v.airtime)} on air${v.last_used === null ? " · never used yet" : ""}`),
              v.error ? null : rangesBar(v),
            ),
          ),
        ),
      );
      pages.replaceChildren(pager(offset, r.videos.length, c.present, (o) => {
        offset = o;
        void load();
      }));
    } catch (e) {
      say(describe(e));
    }
  };
  void load();
  return () => {
    alive = false;
  };
}
