// The player: hls.js where Media Source Extensions exist, the browser's own HLS
// (Safari, iOS, many TVs) elsewhere, for the live channel and for a chunk's
// preview (a VOD playlist). Problems are reported in words and retried; a player
// never gives up on a live channel.
// The light build: no subtitles, alternate audio or DRM, which a channel never
// needs (its rungs each carry video and the music muxed); adaptation is in it.
import Hls from "hls.js/light";

export interface Player {
  destroy(): void;
  /** Jumps to the live edge. */
  goLive(): void;
  /** Seconds behind the live edge, when known. */
  latency(): number | null;
  /** The rungs of the channel's quality ladder by height, highest first (empty
   * when the player adapts by itself: Safari's own HLS, or a single rung). */
  heights(): number[];
  /** The height playing now, when known. */
  playing(): number | null;
  /** The height pinned (null: Auto, the player adapts). */
  pinned(): number | null;
  /** Pins a rung by its height (null: Auto). */
  pin(height: number | null): void;
}

/** Called when the rungs or the one playing change. */
export type OnLevels = () => void;

/** What is played: the live channel (retried for ever, words about being on air)
 * or a recording (a chunk's preview: words about the preview). */
export interface AttachOptions {
  vod?: boolean;
  /** The height to start pinned to (null or absent: Auto). */
  pinned?: number | null;
  /** Told when the rungs or the one playing change. */
  onLevels?: OnLevels;
}

/** What a player without rungs to choose from answers. */
const NO_LEVELS = { heights: () => [], playing: () => null, pinned: () => null, pin: () => {} };

export function attach(video: HTMLVideoElement, url: string, onProblem: (msg: string | null) => void, opts: AttachOptions = {}): Player {
  video.addEventListener("playing", () => onProblem(null));
  if (Hls.isSupported()) {
    const hls = new Hls({ liveSyncDurationCount: 3, lowLatencyMode: false, manifestLoadingMaxRetry: 2 });
    let retry = 0;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
        const code = (data.response as { code?: number } | undefined)?.code;
        onProblem(
          code === 401
            ? "The stream needs a viewer token: set it with “Tokens”."
            : opts.vod
              ? `The preview cannot be loaded (${code ? `HTTP ${code}` : data.details}); retrying…`
              : code === 404 || code === 503
                ? "The stream is not on air yet; it starts as soon as the first clip is ready…"
                : "The stream is not reachable; retrying…",
        );
        window.clearTimeout(retry);
        retry = window.setTimeout(() => hls.loadSource(url), 3000);
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        onProblem(`The player stopped (${data.details}); reload the page to try again.`);
      }
    });
    // A pinned rung, by height: kept across reloads of the manifest (a retry).
    let pinned: number | null = opts.pinned ?? null;
    const applyPin = () => {
      const i = pinned === null ? -1 : hls.levels.findIndex((l) => l.height === pinned);
      // -1: Auto, hls.js's own adaptation; a rung the channel no longer has is Auto too.
      hls.currentLevel = i;
    };
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      applyPin();
      opts.onLevels?.();
      void video.play().catch(() => {});
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, () => opts.onLevels?.());
    hls.loadSource(url);
    hls.attachMedia(video);
    return {
      destroy: () => {
        window.clearTimeout(retry);
        hls.destroy();
      },
      goLive: () => {
        if (hls.liveSyncPosition !== null) video.currentTime = hls.liveSyncPosition;
        void video.play().catch(() => {});
      },
      latency: () => (Number.isFinite(hls.latency) ? hls.latency : null),
      heights: () => (hls.levels.length > 1 ? [...new Set(hls.levels.map((l) => l.height))].sort((a, b) => b - a) : []),
      playing: () => hls.levels[hls.currentLevel]?.height ?? (video.videoHeight || null),
      pinned: () => pinned,
      pin: (height) => {
        pinned = height;
        applyPin();
        opts.onLevels?.();
      },
    };
  }
  if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
    video.addEventListener("error", () => onProblem(opts.vod ? "The preview cannot be loaded; retrying…" : "The stream is not on air yet or not reachable; retrying…"));
    const retry = window.setInterval(() => {
      if (video.error) {
        video.src = url;
        void video.play().catch(() => {});
      }
    }, 5000);
    return {
      destroy: () => {
        window.clearInterval(retry);
        video.removeAttribute("src");
        video.load();
      },
      goLive: () => {
        const s = video.seekable;
        if (s.length) video.currentTime = s.end(s.length - 1);
      },
      latency: () => {
        const s = video.seekable;
        return s.length ? s.end(s.length - 1) - video.currentTime : null;
      },
      ...NO_LEVELS,
    };
  }
  onProblem("This browser cannot play HLS. Open the M3U playlist (/iptv.m3u) in VLC or an IPTV app.");
  return { destroy: () => {}, goLive: () => {}, latency: () => null, ...NO_LEVELS };
}
