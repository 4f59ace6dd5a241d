// TV mode: a 10-foot layout driven by a remote's D-pad alone. Arrow keys move the
// focus to the nearest control in that direction (spatial navigation), Enter
// activates it, Back goes back. Chosen for TV browsers and with ?tv=1 (?tv=0 turns
// it off); the choice is kept on the device.

const KEY = "shufflecast.tv";
const TV_AGENTS = /SmartTV|SMART-TV|Tizen|Web0S|webOS|NetCast|HbbTV|BRAVIA|AFT[A-Z]|CrKey|Android TV|GoogleTV|AppleTV|Roku|VIDAA|Viera|PhilipsTV|\bTV\b/i;

export function wantsTv(): boolean {
  const param = new URLSearchParams(location.search).get("tv");
  if (param === "1" || param === "0") localStorage.setItem(KEY, param);
  const kept = localStorage.getItem(KEY);
  if (kept !== null) return kept === "1";
  return TV_AGENTS.test(navigator.userAgent);
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea, [tabindex]:not([tabindex="-1"])';

function focusables(): HTMLElement[] {
  const dialog = document.querySelector<HTMLDialogElement>("dialog[open]");
  const scope: ParentNode = dialog ?? document;
  // What a closed <details> holds beyond its summary is not shown, though it may
  // have boxes (content-visibility: hidden), and cannot take the focus.
  return [...scope.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((e) => e.getClientRects().length > 0 && !e.closest("[hidden], details:not([open]) > :not(summary)"));
}

type Dir = "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight";

/** The element the focus moves to from `from` in direction `dir`, if any. */
function nextInDirection(from: Element, dir: Dir, candidates: HTMLElement[]): HTMLElement | null {
  const a = from.getBoundingClientRect();
  let best: HTMLElement | null = null;
  let bestScore = Infinity;
  for (const c of candidates) {
    if (c === from || c.contains(from)) continue;
    const b = c.getBoundingClientRect();
    // Distance along the direction, edge to edge; candidates must lie beyond.
    let along: number;
    let across: number;
    // Edge-to-edge gaps across the direction: 0 when the two overlap.
    const gapX = Math.max(0, Math.max(a.left, b.left) - Math.min(a.right, b.right));
    const gapY = Math.max(0, Math.max(a.top, b.top) - Math.min(a.bottom, b.bottom));
    const cx = (r: DOMRect) => (r.left + r.right) / 2;
    const cy = (r: DOMRect) => (r.top + r.bottom) / 2;
    switch (dir) {
      case "ArrowRight":
        if (cx(b) <= cx(a) || b.left < a.left + 1) continue;
        along = Math.max(0, b.left - a.right);
        across = gapY;
        break;
      case "ArrowLeft":
        if (cx(b) >= cx(a) || b.right > a.right - 1) continue;
        along = Math.max(0, a.left - b.right);
        across = gapY;
        break;
      case "ArrowDown":
        if (cy(b) <= cy(a) || b.top < a.top + 1) continue;
        along = Math.max(0, b.top - a.bottom);
        across = gapX;
        break;
      case "ArrowUp":
        if (cy(b) >= cy(a) || b.bottom > a.bottom - 1) continue;
        along = Math.max(0, a.top - b.bottom);
        across = gapX;
        break;
    }
    // Staying in the same row or column matters more than being close.
    const score = along + 2 * across;
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best;
}

/** Keys TV remotes send for Back: Escape on most, 461 on LG webOS, 10009 on
 * Samsung Tizen, BrowserBack/GoBack on Android TV. */
function isBack(e: KeyboardEvent): boolean {
  return (
    e.key === "Escape" ||
    e.key === "GoBack" ||
    e.key === "BrowserBack" ||
    e.keyCode === 461 ||
    e.keyCode === 10009 ||
    (e.key === "Backspace" && !isTextField(document.activeElement))
  );
}

function isTextField(e: Element | null): e is HTMLInputElement | HTMLTextAreaElement {
  if (e instanceof HTMLTextAreaElement) return true;
  return e instanceof HTMLInputElement && !["range", "checkbox", "radio", "button", "submit"].includes(e.type);
}

/** Whether an arrow key belongs to the focused control rather than to navigation. */
function controlKeepsKey(e: KeyboardEvent): boolean {
  const t = document.activeElement;
  if (t instanceof HTMLInputElement && t.type === "range") return e.key === "ArrowLeft" || e.key === "ArrowRight";
  if (isTextField(t) && (e.key === "ArrowLeft" || e.key === "ArrowRight")) {
    // The caret moves inside the text; at either end the focus leaves. Number
    // fields have no caret to ask about: arrows always navigate.
    if (t.selectionStart === null) return false;
    const at = t.selectionStart;
    const len = t.value.length;
    return !((e.key === "ArrowLeft" && at === 0) || (e.key === "ArrowRight" && at >= len));
  }
  return false;
}

/** Keys for the next channel up (+1) or down (−1): PageUp/PageDown on many
 * remotes and keyboards, ChannelUp/ChannelDown where the browser names them. */
function channelStep(e: KeyboardEvent): number {
  if (e.key === "PageUp" || e.key === "ChannelUp") return 1;
  if (e.key === "PageDown" || e.key === "ChannelDown") return -1;
  return 0;
}

export function enableTv(onBack: () => void, onChannel: (step: number) => void = () => {}): void {
  document.documentElement.classList.add("tv");
  document.addEventListener(
    "keydown",
    (e) => {
      if (e.defaultPrevented) return;
      const step = channelStep(e);
      if (step) {
        e.preventDefault();
        onChannel(step);
      } else if (e.key === "ArrowUp" || e.key === "ArrowDown" || e.key === "ArrowLeft" || e.key === "ArrowRight") {
        if (controlKeepsKey(e)) return;
        e.preventDefault();
        const all = focusables();
        const cur = document.activeElement;
        const target = cur && cur !== document.body && all.includes(cur as HTMLElement) ? nextInDirection(cur, e.key, all) : all[0];
        if (target) {
          target.focus({ preventScroll: true });
          target.scrollIntoView({ block: "nearest", inline: "nearest" });
        }
      } else if (e.key === "Enter") {
        const t = document.activeElement;
        if (t instanceof HTMLSelectElement) {
          e.preventDefault();
          try {
            t.showPicker();
          } catch {
            /* older TV browsers open it themselves */
          }
        } else if (t instanceof HTMLElement && t.matches('[tabindex]:not(a):not(button):not(input)')) {
          e.preventDefault();
          t.click();
        }
      } else if (isBack(e)) {
        const dialog = document.querySelector<HTMLDialogElement>("dialog[open]");
        e.preventDefault();
        if (dialog) dialog.close();
        else onBack();
      }
    },
  );
}

/** In TV mode, puts the focus on the view's first control so the remote has a start. */
export function focusFirst(root: HTMLElement): void {
  if (!document.documentElement.classList.contains("tv")) return;
  const first = root.querySelector<HTMLElement>("[data-autofocus]") ?? root.querySelector<HTMLElement>(FOCUSABLE);
  first?.focus({ preventScroll: true });
}
