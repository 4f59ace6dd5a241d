// A channel's form: #/channel/new makes one, #/channel/SLUG edits one made through
// the API (or shows, read-only, one from the channels file or the settings) and
// deletes it. The server checks every value; its message shows by the field it
// names.
import { api, ApiError, ChannelInfo, ChannelList, describe } from "../api";
import { current, select } from "../channel";
import { button, el } from "../dom";
import { say } from "../ui";

type Kind = "text" | "integer" | "number" | "lines" | "grade";

/** The keys the form edits; the definition's other keys are kept as they are. */
const FIELDS: { key: string; label: string; kind: Kind; help: string }[] = [
  { key: "slug", label: "Slug", kind: "text", help: "Its URL id: lower-case letters, digits and dashes." },
  { key: "name", label: "Name", kind: "text", help: "As guides and the IPTV playlist show it." },
  { key: "number", label: "Number", kind: "integer", help: "Its number in guides and tuners." },
  { key: "videos", label: "Video folders", kind: "lines", help: "One folder per line; empty for the server's folders." },
  { key: "include", label: "Include", kind: "lines", help: "Globs of paths to use, one per line; empty for all." },
  { key: "exclude", label: "Exclude", kind: "lines", help: "Globs of paths to leave out, one per line." },
  { key: "creators", label: "Creators", kind: "lines", help: "Only these creators, one per line; empty for all." },
  { key: "audio", label: "Music folder", kind: "text", help: "Empty for the server's music." },
  { key: "clip_min", label: "Shortest clip (s)", kind: "number", help: "Empty for the server's value." },
  { key: "clip_max", label: "Longest clip (s)", kind: "number", help: "Empty for the server's value." },
  { key: "color_grade", label: "Colour grade", kind: "grade", help: "Empty for the server's grade." },
];
const GRADES = ["", "none", "moody", "warm", "cool", "mono"];

type Input = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

export function channelForm(view: HTMLElement, sub: string): () => void {
  const slug = sub && sub !== "new" ? decodeURIComponent(sub) : null;
  const title = el("h2", {}, slug ? `Channel ${slug}` : "New channel");
  const note = el("p", { class: "warn", id: "channel-readonly", hidden: true });
  const form = el("form", { class: "settings channel-form", novalidate: true, id: "channel-form" });
  const inputs = new Map<string, Input>();
  const errors = new Map<string, HTMLElement>();
  const set = el("fieldset", {}, el("legend", {}, "Channel"));
  for (const f of FIELDS) {
    const id = `ch-${f.key}`;
    let input: Input;
    if (f.kind === "lines") input = el("textarea", { id, name: f.key, rows: "3" });
    else if (f.kind === "grade") input = el("select", { id, name: f.key }, ...GRADES.map((g) => el("option", { value: g }, g || "(the server's)")));
    else if (f.kind === "text") input = el("input", { type: "text", id, name: f.key, autocomplete: "off" });
    else input = el("input", { type: "number", id, name: f.key, step: f.kind === "integer" ? "1" : "0.5", inputmode: "decimal" });
    const error = el("span", { class: "field-error", id: `${id}-error`, role: "alert" });
    input.setAttribute("aria-describedby", `${id}-error`);
    inputs.set(f.key, input);
    errors.set(f.key, error);
    set.append(el("div", { class: "field" }, el("label", { for: id }, f.label), input, el("span", { class: "muted small" }, f.help), error));
  }
  const save = el("button", { type: "submit", id: "channel-save" }, slug ? "Save" : "Create");
  save.dataset.autofocus = "";
  const del = button("Delete channel", () => remove(), "ghost danger");
  del.id = "channel-delete";
  del.hidden = true;
  const back = el("a", { href: "#/guide", class: "tab" }, "Back to the guide");
  form.append(set, el("div", { class: "row" }, save, del, back));
  view.replaceChildren(el("section", {}, title, note, form));

  let definition: Record<string, unknown> = {};

  const fill = (c: ChannelInfo) => {
    definition = { ...(c.definition as Record<string, unknown>) };
    title.textContent = `Channel ${c.number} · ${c.name}`;
    for (const [k, input] of inputs) {
      const v = definition[k];
      input.value = v === undefined || v === null ? "" : Array.isArray(v) ? v.join("\n") : String(v);
    }
    inputs.get("slug")!.disabled = true;
    if (!c.editable) {
      note.hidden = false;
      note.textContent =
        c.origin === "file"
          ? "Defined in the channels file: change it there; it is shown here read-only."
          : "Defined by the server's settings (the classic channel): change it in Settings; it is shown here read-only.";
      inputs.forEach((i) => (i.disabled = true));
      save.hidden = true;
    } else {
      del.hidden = false;
    }
  };

  const start = async () => {
    try {
      if (slug) fill(await api<ChannelInfo>(`/api/channels/${encodeURIComponent(slug)}`));
      else {
        // A number no channel has yet, to start from.
        const l = await api<ChannelList>("/api/channels");
        inputs.get("number")!.value = String(Math.max(0, ...l.channels.map((c) => c.number)) + 1);
      }
    } catch (e) {
      say(describe(e));
    }
  };

  /** The body: the definition with the form's keys laid over it (empty: left out). */
  const body = (): Record<string, unknown> | null => {
    const out: Record<string, unknown> = { ...definition };
    for (const f of FIELDS) {
      const raw = inputs.get(f.key)!.value.trim();
      delete out[f.key];
      if (raw === "") continue;
      if (f.kind === "lines") out[f.key] = raw.split("\n").map((l) => l.trim()).filter(Boolean);
      else if (f.kind === "integer" || f.kind === "number") {
        const n = Number(raw);
        if (!Number.isFinite(n) || (f.kind === "integer" && !Number.isInteger(n))) {
          mark(f.key, f.kind === "integer" ? "must be a whole number" : "must be a number");
          return null;
        }
        out[f.key] = n;
      } else out[f.key] = raw;
    }
    if (slug) out.slug = slug;
    return out;
  };

  const clear = () => {
    errors.forEach((e) => (e.textContent = ""));
    inputs.forEach((i) => i.removeAttribute("aria-invalid"));
  };
  const mark = (key: string, msg: string) => {
    errors.get(key)!.textContent = msg;
    inputs.get(key)!.setAttribute("aria-invalid", "true");
    inputs.get(key)!.focus();
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear();
    const b = body();
    if (!b) return;
    try {
      const c = slug
        ? await api<ChannelInfo>(`/api/channels/${encodeURIComponent(slug)}`, { method: "PUT", body: b })
        : await api<ChannelInfo>("/api/channels", { method: "POST", body: b });
      say(slug ? `Channel ${c.name} saved.` : `Channel ${c.name} made: it comes on air once its first clips are ready.`, true);
      location.hash = "#/guide";
    } catch (e) {
      const field = e instanceof ApiError ? e.field : undefined;
      if (field && errors.has(field)) {
        mark(field, e instanceof ApiError ? e.message : String(e));
        say(`Not saved: ${field} ${e instanceof ApiError ? e.message : ""}`);
      } else say(`Not saved: ${describe(e)}`);
    }
  });

  const remove = async () => {
    if (!slug || !window.confirm(`Delete channel ${slug}? Its chunks and segments are deleted too.`)) return;
    try {
      await api(`/api/channels/${encodeURIComponent(slug)}`, { method: "DELETE" });
      say(`Channel ${slug} deleted.`, true);
      // To the guide first: a selection change starts the view it finds again.
      location.hash = "#/guide";
      if (current() === slug) select(null);
    } catch (e) {
      say(describe(e));
    }
  };

  void start();
  return () => {};
}
