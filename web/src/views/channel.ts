// A channel's form: #/channel/new makes one, #/channel/SLUG edits one made through
// the API (or shows, read-only, one from the channels file or the settings) and
// deletes it. The server checks every value; its message shows by the field it
// names.
//
// A definition has its own keys (slug, name, number, its sources, its music
// folder), listed here, and settings: every setting of channel scope in the
// server's schema of the settings (`x-scope`), rendered as the settings form
// renders it. A setting left empty is left out of the definition: the channel
// follows the server's value.
import { api, ApiError, ChannelInfo, ChannelList, describe, SettingsReply } from "../api";
import { current, select } from "../channel";
import { button, el } from "../dom";
import { groups, Property, readSetting, Schema, SettingInput, settingField, settingsSchema, showSetting } from "../setting-field";
import { say } from "../ui";

type Kind = "text" | "integer" | "lines";

/** The definition's own keys the form edits (`videos` and `audio` are settings
 * too, but only at the start for the server, so the schema of what the settings
 * API edits does not list them). Other keys of the definition (`logo`) are kept
 * as they are. */
const FIELDS: { key: string; label: string; kind: Kind; help: string }[] = [
  { key: "slug", label: "Slug", kind: "text", help: "Its URL id: lower-case letters, digits and dashes." },
  { key: "name", label: "Name", kind: "text", help: "As guides and the IPTV playlist show it." },
  { key: "number", label: "Number", kind: "integer", help: "Its number in guides and tuners." },
  { key: "videos", label: "Video folders", kind: "lines", help: "One folder per line; empty for the server's folders." },
  { key: "include", label: "Include", kind: "lines", help: "Globs of paths to use, one per line; empty for all." },
  { key: "exclude", label: "Exclude", kind: "lines", help: "Globs of paths to leave out, one per line." },
  { key: "creators", label: "Creators", kind: "lines", help: "Only these creators, one per line; empty for all." },
  { key: "audio", label: "Music folder", kind: "text", help: "Empty for the server's music." },
];

/** The setting the definition's `name` sets: the server refuses it by its own key. */
const NAME_SETTING = "channel_name";

/** The schema groups shown open on a new channel, the first in the schema's order
 * (the order the server puts the most used in); the others are collapsed unless
 * the channel sets one of theirs. */
const OPEN_GROUPS = 3;

/** The settings a channel may set in the form: channel scope, not a key of its own. */
function channelSettings(schema: Schema): string[] {
  return schema["x-order"].filter((k) => schema.properties[k]["x-scope"] === "channel" && k !== NAME_SETTING && !FIELDS.some((f) => f.key === k));
}

type Input = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

export function channelForm(view: HTMLElement, sub: string): () => void {
  const slug = sub && sub !== "new" ? decodeURIComponent(sub) : null;
  const title = el("h2", {}, slug ? `Channel ${slug}` : "New channel");
  const note = el("p", { class: "warn", id: "channel-readonly", hidden: true });
  const form = el("form", { class: "settings channel-form", novalidate: true, id: "channel-form" });
  const inputs = new Map<string, Input>();
  const errors = new Map<string, HTMLElement>();
  /** The schema of each setting the form offers. */
  const settings = new Map<string, Property>();
  /** The collapsible group each setting is in. */
  const groupOf = new Map<string, HTMLDetailsElement>();
  const set = el("fieldset", {}, el("legend", {}, "Channel"));
  for (const f of FIELDS) {
    const id = `ch-${f.key}`;
    let input: Input;
    if (f.kind === "lines") input = el("textarea", { id, name: f.key, rows: "3" });
    else if (f.kind === "text") input = el("input", { type: "text", id, name: f.key, autocomplete: "off" });
    else input = el("input", { type: "number", id, name: f.key, step: "1", inputmode: "decimal" });
    const error = el("span", { class: "field-error", id: `${id}-error`, role: "alert" });
    input.setAttribute("aria-describedby", `${id}-help ${id}-error`);
    inputs.set(f.key, input);
    errors.set(f.key, error);
    set.append(el("div", { class: "field" }, el("label", { for: id }, f.label), input, el("span", { class: "muted small", id: `${id}-help` }, f.help), error));
  }
  /** The channel's settings, one collapsible group per schema group. */
  const own = el("fieldset", { id: "channel-settings" }, el("legend", {}, "Settings of this channel"), el("p", { class: "muted small" }, "Left empty, a setting follows the server's value (Settings), now and when it changes."));
  const save = el("button", { type: "submit", id: "channel-save" }, slug ? "Save" : "Create");
  save.dataset.autofocus = "";
  const del = button("Delete channel", () => remove(), "ghost danger");
  del.id = "channel-delete";
  del.hidden = true;
  const back = el("a", { href: "#/guide", class: "tab" }, "Back to the guide");
  form.append(set, own, el("div", { class: "row" }, save, del, back));
  view.replaceChildren(el("section", {}, title, note, form));

  /** Adds a field for each channel setting of `schema`, showing `server`'s values
   * in place of nothing. */
  const build = (schema: Schema, server: Record<string, unknown>) => {
    [...groups(schema, channelSettings(schema))].forEach(([group, keys], i) => {
      // A summary with a tabindex is a control the TV remote reaches, and Enter opens it.
      const details = el("details", { class: "setting-group", "data-group": group, open: i < OPEN_GROUPS }, el("summary", { tabindex: "0" }, group));
      const fields = el("div", { class: "fields" });
      for (const key of keys) {
        const p = schema.properties[key];
        const f = settingField(key, p, { prefix: "ch-", optional: { server: server[key] ?? null } });
        settings.set(key, p);
        inputs.set(key, f.input);
        errors.set(key, f.error);
        groupOf.set(key, details);
        fields.append(f.row);
      }
      details.append(fields);
      own.append(details);
    });
  };

  let definition: Record<string, unknown> = {};

  const fill = (c: ChannelInfo) => {
    definition = { ...(c.definition as Record<string, unknown>) };
    title.textContent = `Channel ${c.number} · ${c.name}`;
    for (const [k, input] of inputs) {
      const v = definition[k];
      if (settings.has(k)) {
        showSetting(input as SettingInput, v);
        // What the channel sets is in sight.
        if (v !== undefined) groupOf.get(k)!.open = true;
      } else input.value = v === undefined || v === null ? "" : Array.isArray(v) ? v.join("\n") : String(v);
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
    // The settings' values only show what an empty field means: the form works without them.
    const server = api<SettingsReply>("/api/settings").then((r) => r.settings as Record<string, unknown>, () => ({}));
    try {
      build(await settingsSchema(), await server);
    } catch (e) {
      say(`The channel's settings cannot be shown: ${describe(e)}`);
    }
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
      const input = inputs.get(f.key)!;
      const raw = input.value.trim();
      delete out[f.key];
      if (f.kind === "integer" && input instanceof HTMLInputElement && input.validity.badInput) {
        mark(f.key, "must be a whole number");
        return null;
      }
      if (raw === "") continue;
      if (f.kind === "lines") out[f.key] = raw.split("\n").map((l) => l.trim()).filter(Boolean);
      else if (f.kind === "integer") {
        const n = Number(raw);
        if (!Number.isInteger(n)) {
          mark(f.key, "must be a whole number");
          return null;
        }
        out[f.key] = n;
      } else out[f.key] = raw;
    }
    for (const [key, p] of settings) {
      const r = readSetting(inputs.get(key) as SettingInput, p);
      delete out[key];
      if (r === "empty") continue;
      if ("error" in r) {
        mark(key, r.error);
        return null;
      }
      out[key] = r.value;
    }
    if (slug) out.slug = slug;
    return out;
  };

  const clear = () => {
    errors.forEach((e) => (e.textContent = ""));
    inputs.forEach((i) => i.removeAttribute("aria-invalid"));
  };
  const mark = (key: string, msg: string) => {
    const group = groupOf.get(key);
    if (group) group.open = true;
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
