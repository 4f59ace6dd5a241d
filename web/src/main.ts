// The shufflecast client: one page, a view per hash route so every view has a
// link, a TV mode for remotes, and a service worker so it installs as an app.
import "./style.css";
import { describe, onUnauthorized } from "./api";
import { enableTv, focusFirst, wantsTv } from "./tv";
import { channels, neighbour, onSelect, select } from "./channel";
import { askTokens, banner, say } from "./ui";
import { channelForm } from "./views/channel";
import { guide } from "./views/guide";
import { generation } from "./views/generation";
import { library } from "./views/library";
import { live } from "./views/live";
import { settings } from "./views/settings";
import { stats } from "./views/stats";
import { system } from "./views/system";

const view = document.getElementById("view") as HTMLElement;
let cleanup: () => void = () => {};

const views: Record<string, (root: HTMLElement, sub: string) => () => void> = {
  guide,
  channel: channelForm,
  live,
  library,
  generation,
  system,
  stats,
  settings,
};

function route(): void {
  cleanup();
  say(null);
  const [name = "live", sub = ""] = location.hash.replace(/^#\/?/, "").split("/");
  const key = name in views ? name : "live";
  document.querySelectorAll<HTMLAnchorElement>("header nav a").forEach((a) => {
    const on = a.dataset.view === (key === "channel" ? "guide" : key);
    a.classList.toggle("active", on);
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  document.title = `shufflecast · ${key[0].toUpperCase()}${key.slice(1)}`;
  try {
    cleanup = views[key](view, sub);
  } catch (e) {
    cleanup = () => {};
    say(`This view failed: ${describe(e)}`);
  }
  focusFirst(view);
}

onUnauthorized.admin = () => askTokens("The server refused the admin token: enter it to control the channel.");
onUnauthorized.viewer = () => askTokens("This server needs a viewer token to watch.");
document.getElementById("token-button")!.addEventListener("click", () => askTokens());
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (e) => say(describe(e.reason)));
window.addEventListener("error", (e) => say(`Something broke: ${e.message}`));

// Another channel: the view starts again on it (its player, its events).
onSelect(() => route());

if (wantsTv()) {
  enableTv(
    () => {
      if (!/^#\/?(live)?$/.test(location.hash)) location.hash = "#/live";
    },
    async (step) => {
      try {
        const to = neighbour(step, await channels());
        if (!to) return;
        banner(to.number, to.name);
        if (!/^#\/?(live)?$/.test(location.hash)) location.hash = "#/live";
        select(to.slug);
      } catch (e) {
        say(describe(e));
      }
    },
  );
}
route();
// A selection the server no longer has falls back to the default channel.
channels().catch(() => {});

// Installable as an app; the worker never touches the stream (see sw.ts).
if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch((e) => console.warn("service worker not registered:", e));
  });
}
