// Small DOM and formatting helpers shared by the views.

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export function button(label: string, onclick: () => unknown, cls = ""): HTMLButtonElement {
  const b = el("button", { type: "button", class: cls }, label);
  b.addEventListener("click", () => void onclick());
  return b;
}

/** A progress bar with an accessible label. */
export function bar(label: string, fraction = 0): HTMLProgressElement {
  const p = el("progress", { max: "1", "aria-label": label });
  p.value = Math.min(1, Math.max(0, fraction));
  return p;
}

export function clock(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !isFinite(secs)) return "–";
  const s = Math.max(0, Math.floor(secs));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function hours(secs: number): string {
  if (secs < 60) return `${secs.toFixed(0)} s`;
  if (secs < 3600) return `${(secs / 60).toFixed(0)} min`;
  return `${(secs / 3600).toFixed(1)} h`;
}

export function ago(unixSecs: number | null | undefined): string {
  if (!unixSecs) return "never";
  const d = Date.now() / 1000 - unixSecs;
  if (d < 90) return "just now";
  if (d < 5400) return `${Math.round(d / 60)} min ago`;
  if (d < 129600) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86400)} days ago`;
}

/** Runs `fn` now and every `ms` while the view lives; returns the stopper. */
export function every(ms: number, fn: () => unknown): () => void {
  void fn();
  const t = window.setInterval(() => void fn(), ms);
  return () => window.clearInterval(t);
}

/** Calls `fn` once typing pauses. */
export function debounce<A extends unknown[]>(ms: number, fn: (...a: A) => void): (...a: A) => void {
  let t = 0;
  return (...a: A) => {
    window.clearTimeout(t);
    t = window.setTimeout(() => fn(...a), ms);
  };
}

/** "14:05", or "14:05:30" when seconds matter: `unix` seconds in local time. */
export function hhmm(unix: number, seconds = false): string {
  const d = new Date(unix * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}${seconds ? `:${p(d.getSeconds())}` : ""}`;
}
