// Live: the player with its LIVE badge, what is on air (chunk, clip, music) with
// progress that moves between updates, and the controls.
import { api, describe, events, Guide, StreamStatus, withToken } from "../api";
import { bar, button, clock, el, hhmm } from "../dom";
import { chan, channelLine, channels, current, info } from "../channel";
import { attach, Player } from "../player";
import { strip, StripItem } from "../pictures";
import { act, say } from "../ui";

const VOLUME_KEY = "shufflecast.volume";
const MUTED_KEY = "shufflecast.muted";
const QUALITY_KEY = "shufflecast.quality";

export function live(view: HTMLElement): () => void {
  const video = el("video", { playsinline: true, autoplay: true, muted: true, "aria-label": "Live channel" });
  // Browsers only autoplay muted video; the viewer's own choice wins once made.
  video.muted = localStorage.getItem(MUTED_KEY) !== "0";
  video.volume = Number(localStorage.getItem(VOLUME_KEY) ?? "0.8");
  const badge = el("button", { type: "button", class: "badge live-badge", title: "Go to the live edge" }, "LIVE");
  const problem = el("div", { class: "overlay", hidden: true });
  const mute = button("", () => {
    video.muted = !video.muted;
    if (!video.muted && video.paused) void video.play().catch(() => {});
  });
  mute.id = "mute";
  const volume = el("input", { type: "range", min: "0", max: "1", step: "0.05", "aria-label": "Volume", id: "volume" });
  volume.value = String(video.volume);
  volume.oninput = () => {
    video.volume = Number(volume.value);
    if (video.volume > 0) video.muted = false;
  };
  // Quality: Auto (the player adapts to the network) or one rung of the ladder,
  // pinned; the choice is kept on the device. One button that steps through the
  // choices, so a remote's Enter reaches every one.
  const quality = button("Quality: Auto", () => {
    const choices: (number | null)[] = [null, ...player.heights()];
    const i = choices.indexOf(player.pinned());
    const next = choices[(i + 1) % choices.length];
    localStorage.setItem(QUALITY_KEY, next === null ? "auto" : String(next));
    player.pin(next);
  }, "ghost");
  quality.id = "quality";
  quality.hidden = true;
  const syncQuality = () => {
    const heights = player.heights();
    quality.hidden = heights.length === 0;
    const now = player.playing();
    const pinned = player.pinned();
    quality.textContent = pinned === null ? `Quality: Auto${now ? ` (${now}p)` : ""}` : `Quality: ${pinned}p`;
    quality.dataset.playing = now ? String(now) : "";
    quality.dataset.pinned = pinned === null ? "auto" : String(pinned);
  };
  const full = button("Full screen", () => void (document.fullscreenElement ? document.exitFullscreen() : playerBox.requestFullscreen?.()), "ghost");
  const syncControls = () => {
    mute.textContent = video.muted ? "Unmute" : "Mute";
    mute.setAttribute("aria-pressed", String(video.muted));
    volume.value = String(video.volume);
    localStorage.setItem(MUTED_KEY, video.muted ? "1" : "0");
    localStorage.setItem(VOLUME_KEY, String(video.volume));
  };
  video.addEventListener("volumechange", syncControls);
  syncControls();

  const chunk = el("p", { class: "muted", id: "now-chunk" });
  const title = el("h2", { id: "now-title" }, "…");
  const creator = el("p", { class: "muted", id: "now-creator" });
  const clipBar = bar("Clip progress");
  const clipTime = el("span", { class: "muted small" });
  const track = el("p", { id: "now-track" }, "Music: none");
  const trackBar = bar("Music progress");
  const trackTime = el("span", { class: "muted small" });
  const next = el("p", { class: "muted", id: "next-chunk" });
  const skip = button("Skip video", () => act(chan("/api/skip_to_next"), "Skipping to the next clip…"));
  skip.id = "skip-video";
  skip.dataset.autofocus = "";
  const skipMusic = button("Skip music", () => act(chan("/api/skip_to_next_audio"), "Skipping to the next track…"));
  skipMusic.id = "skip-music";

  const playerBox = el("div", { class: "player" }, video, badge, problem);
  const coming = el("div", { class: "coming", id: "coming" }, el("p", { class: "muted" }, "…"));
  view.replaceChildren(
    el(
      "section",
      { class: "live" },
      el("div", {}, playerBox, el("div", { class: "row controls" }, mute, quality, volume, full), el("h3", {}, "Coming up"), coming),
      el(
        "div",
        { class: "now", "aria-live": "polite" },
        channelLine(),
        el("p", { class: "eyebrow" }, "Now playing"),
        title,
        creator,
        chunk,
        clipBar,
        clipTime,
        el("p", { class: "eyebrow" }, "Music"),
        track,
        trackBar,
        trackTime,
        next,
        el("div", { class: "row" }, skip, skipMusic),
      ),
    ),
  );

  // The selected channel's playlist, as the server names it; the default
  // channel's own address until the list of channels answers.
  const onProblem = (msg: string | null) => {
    problem.hidden = !msg;
    problem.textContent = msg ?? "";
  };
  let player: Player = { destroy: () => {}, goLive: () => {}, latency: () => null, heights: () => [], playing: () => null, pinned: () => null, pin: () => {} };
  let gone = false;
  const play = (url: string) => {
    if (gone) return;
    video.dataset.stream = url;
    const kept = Number(localStorage.getItem(QUALITY_KEY));
    player = attach(video, withToken(url), onProblem, { pinned: kept > 0 ? kept : null, onLevels: syncQuality });
  };
  const fallback = () => {
    const s = current();
    return s ? `/hls/${encodeURIComponent(s)}/stream.m3u8` : "/hls/stream.m3u8";
  };
  channels().then(
    (l) => play(info(l)?.stream ?? fallback()),
    () => play(fallback()),
  );
  badge.onclick = () => player.goLive();

  // Positions come with each update; between updates they move with the clock.
  let status: StreamStatus | null = null;
  let at = performance.now();
  // The coming clips, as pictures with titles: the rest of the chunk on air, then
  // the chunks after it, from the guide (asked again when the chunk changes).
  let guideData: Guide | null = null;
  let guideFor = "";
  let guideAt = 0;
  const showComing = () => {
    const g = guideData;
    if (!g) return;
    const slug = current() ?? g.default;
    const c = g.channels.find((x) => x.slug === slug);
    const items: StripItem[] = [];
    const seen = new Set<string>();
    const t = Date.now() / 1000;
    for (const p of c?.programmes ?? []) {
      // After the clip airing (a clip across a boundary is in both programmes).
      for (const k of p.clips) {
        const id = `${k.chunk ?? ""}/${k.index}`;
        if (k.start < t - 1 || id === status?.clip?.id || seen.has(id)) continue;
        seen.add(id);
        items.push({ title: k.title, creator: k.creator, thumbnail: k.thumbnail, note: k.start - t > 1 ? `in ${clock(k.start - t)}` : "next" });
      }
      if (items.length >= 8) break;
    }
    coming.replaceChildren(items.length ? strip(items.slice(0, 8), "The clips coming up", "coming-clips") : el("p", { class: "muted" }, "Nothing announced yet."));
  };
  /** The programme on air on the selected channel, as the guide lists it. */
  const programmeNow = () => {
    const c = guideData?.channels.find((x) => x.slug === (current() ?? guideData?.default));
    return c?.programmes.find((p) => p.on_air) ?? null;
  };
  const loadComing = async (chunk: string) => {
    guideFor = chunk;
    guideAt = Date.now();
    try {
      guideData = await api<Guide>("/api/guide?hours=1&limit=4");
      showComing();
      if (status) show(status);
    } catch (e) {
      say(describe(e));
    }
  };

  const show = (s: StreamStatus) => {
    status = s;
    const chunkNow = `${current() ?? ""}/${s.chunk ?? ""}`;
    if (chunkNow !== guideFor || Date.now() - guideAt > 30000) void loadComing(chunkNow);
    else showComing();
    at = performance.now();
    title.dataset.clip = s.clip?.id ?? "";
    if (!s.clip) {
      title.textContent = s.slate ? "Back in a moment" : "Starting…";
      creator.textContent = s.slate ? "No clip is ready yet: the slate is on air." : "The first clip is being prepared.";
    } else {
      title.textContent = s.clip.title;
      const from = s.clip.source ? `from ${clock(s.clip.source_start)} of ${s.clip.source}` : "";
      creator.textContent = [s.clip.creator, from].filter(Boolean).join(" · ");
    }
    const prog = programmeNow();
    // The programme, and the chunk on air when it says more than the programme's title.
    const from = s.chunk_title && s.chunk_title !== prog?.title ? `from “${s.chunk_title}”` : "";
    chunk.textContent = [prog ? `In “${prog.title}” until ${hhmm(prog.stop)}` : "", from].filter(Boolean).join(", ");
    track.textContent = s.track ? s.track.title : "No music (silence)";
    next.textContent = s.next_title ? `Next: “${s.next_title}”` : "";
    tick();
  };
  /** A bar and its "position / length" label, the position moved on by `dt`. */
  const progress = (p: HTMLProgressElement, label: HTMLElement, item: { position: number; duration: number } | null | undefined, dt: number) => {
    const pos = item ? Math.min(item.duration, item.position + dt) : 0;
    p.value = item ? pos / Math.max(0.001, item.duration) : 0;
    label.textContent = item ? `${clock(pos)} / ${clock(item.duration)}` : "";
  };
  const tick = () => {
    const dt = (performance.now() - at) / 1000;
    progress(clipBar, clipTime, status?.clip, dt);
    progress(trackBar, trackTime, status?.track, dt);
    const lat = player.latency();
    badge.classList.toggle("behind", lat !== null && lat > 10);
    badge.textContent = lat !== null && lat > 10 ? `−${clock(lat)}` : "LIVE";
    syncQuality();
  };
  const refresh = () =>
    api<StreamStatus>(chan("/api/stream-status")).then(show, (e) => {
      say(describe(e));
    });
  void refresh();
  const es = events({ now_playing: show }, (up) => {
    if (!up) say("Lost the connection to the server; reconnecting…");
    else void refresh().then(() => say(null));
  }, chan("/api/events"));
  // Events come per clip and track change; a slow refresh corrects the drift.
  const timers = [window.setInterval(tick, 500), window.setInterval(() => void refresh(), 10000)];
  return () => {
    gone = true;
    es.close();
    timers.forEach((t) => window.clearInterval(t));
    player.destroy();
  };
}
