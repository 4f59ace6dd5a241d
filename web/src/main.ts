// The shufflecast client: a live view, the library and the machine's state, in
// one page with hash routes so every view has a link.
import "./style.css";
import { api, ApiError, adminToken, Chunk, describe, events, setAdminToken, StreamStatus, Usage } from "./api";
import { attach } from "./player";

const view = document.getElementById("view") as HTMLElement;
const notice = document.getElementById("notice") as HTMLElement;
let cleanup: () => void = () => {};

function say(msg: string | null): void {
  notice.hidden = !msg;
  notice.textContent = msg ?? "";
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function mmss(secs: number): string {
  const s = Math.max(0, Math.floor(secs));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function act(path: string, body?: unknown): Promise<void> {
  try {
    await api(path, { method: "POST", body });
    say(null);
  } catch (e) {
    say(describe(e));
  }
}

function live(): () => void {
  const video = el("video", { controls: "", autoplay: "", muted: "", playsinline: "" }) as HTMLVideoElement;
  const badge = el("span", { class: "badge" }, "LIVE");
  const title = el("h2", {}, "…");
  const creator = el("p", { class: "muted" });
  const clipBar = el("progress", { max: "1", value: "0" }) as HTMLProgressElement;
  const track = el("p", { class: "muted" }, "Music: silence");
  const trackBar = el("progress", { max: "1", value: "0" }) as HTMLProgressElement;
  const next = el("p", { class: "muted" });
  const skip = el("button", { type: "button" }, "Skip video");
  const skipMusic = el("button", { type: "button" }, "Skip music");
  skip.onclick = () => act("/api/skip_to_next");
  skipMusic.onclick = () => act("/api/skip_to_next_audio");
  view.replaceChildren(
    el("section", { class: "live" }, el("div", { class: "player" }, video, badge),
      el("div", { class: "now" }, title, creator, clipBar, track, trackBar, next, el("div", { class: "row" }, skip, skipMusic))),
  );
  const detach = attach(video, "/hls/stream.m3u8", say);
  const show = (s: StreamStatus) => {
    title.textContent = s.clip?.title ?? "Starting…";
    creator.textContent = s.clip?.creator ?? "";
    clipBar.value = s.clip ? s.clip.position / Math.max(1, s.clip.duration) : 0;
    track.textContent = s.track ? `Music: ${s.track.title} (${mmss(s.track.position)} / ${mmss(s.track.duration)})` : "Music: silence";
    trackBar.value = s.track ? s.track.position / Math.max(1, s.track.duration) : 0;
    next.textContent = s.next_chunk ? `Next: ${s.next_chunk}` : "";
  };
  api<StreamStatus>("/api/stream-status").then(show, (e) => say(describe(e)));
  const es = events({ now_playing: show });
  // Positions move every segment; events come per clip: refresh them gently.
  const timer = window.setInterval(() => api<StreamStatus>("/api/stream-status").then(show, () => {}), 2000);
  return () => {
    es.close();
    window.clearInterval(timer);
    detach();
  };
}

function library(): () => void {
  const search = el("input", { type: "search", placeholder: "Search chunks" }) as HTMLInputElement;
  const list = el("ul", { class: "list" });
  view.replaceChildren(el("section", {}, el("h2", {}, "Chunks"), search, list));
  const load = async () => {
    try {
      const q = encodeURIComponent(search.value);
      const r = await api<{ chunks: Chunk[] }>(`/api/chunks?limit=100&q=${q}`);
      list.replaceChildren(
        ...r.chunks.map((c) => {
          const play = el("button", { type: "button" }, "Play next");
          play.onclick = () => act("/api/play_chunk", { chunk_name: c.id }).then(load);
          const del = el("button", { type: "button", class: "ghost" }, "Delete");
          del.onclick = async () => {
            try {
              await api(`/api/chunks/${encodeURIComponent(c.id)}`, { method: "DELETE" });
              await load();
            } catch (e) {
              say(describe(e));
            }
          };
          return el("li", {},
            el("strong", {}, c.id), c.on_air ? el("span", { class: "badge" }, "ON AIR") : "",
            el("p", { class: "muted" }, `${c.clips} clips · ${mmss(c.duration)} · aired ${c.times_aired}× · ${c.titles.slice(0, 4).join(", ")}`),
            c.state === "ready" ? el("div", { class: "row" }, play, del) : el("p", { class: "muted" }, "being made…"));
        }),
      );
    } catch (e) {
      say(describe(e));
    }
  };
  search.oninput = () => void load();
  void load();
  return () => {};
}

function system(): () => void {
  const gauges = el("div", { class: "gauges" });
  view.replaceChildren(el("section", {}, el("h2", {}, "System"), gauges));
  const gauge = (label: string, pct: number | null) =>
    el("div", { class: "gauge" }, el("span", {}, label), el("progress", { max: "100", value: String(pct ?? 0) }), el("span", {}, pct === null ? "—" : `${pct.toFixed(0)}%`));
  const load = async () => {
    try {
      const r = await api<{ now: Usage | null; encoder: string }>("/api/system-usage");
      if (!r.now) return;
      gauges.replaceChildren(
        gauge("CPU", r.now.cpu_percent),
        gauge("Memory", r.now.memory_percent),
        gauge("Disk", r.now.disk_percent),
        ...r.now.gpus.map((g) => gauge(g.name, g.percent)),
        el("p", { class: "muted" }, `Encoder: ${r.encoder}`),
      );
    } catch (e) {
      say(describe(e));
    }
  };
  void load();
  const timer = window.setInterval(load, 2000);
  return () => window.clearInterval(timer);
}

const views: Record<string, () => () => void> = { live, library, system };

function route(): void {
  cleanup();
  const name = location.hash.replace(/^#\//, "") || "live";
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", (a as HTMLElement).dataset.view === name));
  cleanup = (views[name] ?? live)();
}

document.getElementById("token-button")!.onclick = () => {
  const t = window.prompt("Admin token (printed in the server log at first start, kept in DATA/admin-token):", adminToken() ?? "");
  if (t !== null) setAdminToken(t);
};
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (e) => say(describe(e.reason instanceof ApiError ? e.reason : String(e.reason))));
route();
