// The live player: hls.js where Media Source Extensions exist, the browser's own
// HLS (Safari, iOS, many TVs) elsewhere.
import Hls from "hls.js";

export function attach(video: HTMLVideoElement, url: string, onError: (msg: string) => void): () => void {
  if (Hls.isSupported()) {
    const hls = new Hls({ liveSyncDurationCount: 3, lowLatencyMode: false });
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
        onError("The stream is not reachable; retrying…");
        window.setTimeout(() => hls.startLoad(), 2000);
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        onError(`The player stopped: ${data.details}`);
      }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    return () => hls.destroy();
  }
  if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
    return () => video.removeAttribute("src");
  }
  onError("This browser cannot play HLS.");
  return () => {};
}
