// Pictures where people look: a clip's or a chunk's picture, a video's poster.
// The server gives relative URLs (or null while there is no picture yet); the
// viewer token goes in the query, as for the player, since an <img> sends no
// header. A missing picture, or one that fails to load, is a placeholder of the
// same size, so rows never jump.
import { withToken } from "./api";
import { el } from "./dom";

/** A placeholder standing for a picture not made yet. */
export function placeholder(alt: string, cls = ""): HTMLElement {
  return el("span", { class: `picture placeholder ${cls}`.trim(), role: "img", "aria-label": alt ? `${alt} (no picture yet)` : "No picture yet" });
}

/** The picture at `url` (lazy), or a placeholder when there is none or it fails. */
export function picture(url: string | null | undefined, alt: string, cls = ""): HTMLElement {
  if (!url) return placeholder(alt, cls);
  const img = el("img", { class: `picture ${cls}`.trim(), src: withToken(url), alt, loading: "lazy", decoding: "async" });
  img.addEventListener(
    "error",
    () => {
      const ph = placeholder(alt, cls);
      ph.dataset.failed = url;
      img.replaceWith(ph);
    },
    { once: true },
  );
  return img;
}

/** A clip in a strip: its picture over its title and creator. */
export interface StripItem {
  title: string;
  creator?: string | null;
  thumbnail?: string | null;
  /** A line under the title (a length, a time). */
  note?: string;
}

/** Clips side by side, each a picture with its title: what comes, what a chunk holds. */
export function strip(items: StripItem[], label: string, id?: string): HTMLElement {
  const list = el("ol", { class: "strip", "aria-label": label, ...(id ? { id } : {}) });
  for (const it of items) {
    list.append(
      el(
        "li",
        {},
        picture(it.thumbnail, `Picture of “${it.title}”`),
        el("span", { class: "strip-title" }, it.title),
        it.creator ? el("span", { class: "muted small" }, it.creator) : null,
        it.note ? el("span", { class: "muted small" }, it.note) : null,
      ),
    );
  }
  return list;
}
