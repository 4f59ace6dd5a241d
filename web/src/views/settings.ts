// Settings: every editable setting, checked by the server; its message is shown
// next to the field it names. Live settings apply to the next clip or chunk, the
// others at the next start (the page says which are waiting for one).
import { api, ApiError, describe, SettingsReply } from "../api";
import { el } from "../dom";
import { say } from "../ui";

type Kind = "number" | "text" | "bool" | { choices: string[] };
interface Field {
  key: string;
  label: string;
  kind: Kind;
  help: string;
  step?: string;
}

const FIELDS: { group: string; fields: Field[] }[] = [
  {
    group: "Clips and chunks (live)",
    fields: [
      { key: "clip_min", label: "Shortest clip (s)", kind: "number", step: "0.5", help: "Clips are cut at random lengths between these two." },
      { key: "clip_max", label: "Longest clip (s)", kind: "number", step: "0.5", help: "" },
      { key: "chunk_duration", label: "Chunk length (s)", kind: "number", step: "1", help: "A chunk is a montage of clips from different videos." },
      { key: "max_chunks", label: "Chunks kept", kind: "number", step: "1", help: "The least recently aired are deleted beyond this." },
      { key: "ready_chunks", label: "Chunks kept ready", kind: "number", step: "1", help: "Never-aired chunks the generator keeps in stock." },
      { key: "chunks_per_run", label: "Chunks per run", kind: "number", step: "1", help: "Made by “Generate” and by each scheduled run." },
      { key: "disk_budget", label: "Disk budget (bytes)", kind: "number", step: "1", help: "0: no limit. Chunks are evicted to stay under it." },
      { key: "schedule", label: "Schedule (cron)", kind: "text", help: "e.g. “0 */6 * * *” for every six hours; empty: none." },
    ],
  },
  {
    group: "Look (live: new clips)",
    fields: [
      { key: "color_grade", label: "Colour grade", kind: { choices: ["none", "moody", "warm", "cool", "mono"] }, help: "" },
      { key: "video_wall", label: "Video wall", kind: "bool", help: "Three panels from the same source at three moments." },
      { key: "watermark", label: "Watermark", kind: { choices: ["none", "creator", "title"] }, help: "Text burned into the clip." },
      { key: "watermark_fallback", label: "Watermark fallback", kind: "text", help: "Shown when the creator is unknown; empty: the title." },
    ],
  },
  {
    group: "Output and encoding (next start)",
    fields: [
      { key: "width", label: "Width (px)", kind: "number", step: "2", help: "Chunks of another size are remade." },
      { key: "height", label: "Height (px)", kind: "number", step: "2", help: "" },
      { key: "fps", label: "Frame rate", kind: "number", step: "1", help: "" },
      { key: "video_bitrate", label: "Video bitrate (kb/s)", kind: "number", step: "100", help: "" },
      { key: "hw_accel", label: "Encoder", kind: { choices: ["none", "auto", "nvidia", "vaapi", "qsv"] }, help: "A GPU that fails its test encode falls back to the CPU." },
      { key: "generator_jobs", label: "Parallel jobs", kind: "number", step: "1", help: "Chunks built at once." },
      { key: "music_loudness", label: "Music loudness (LUFS)", kind: "number", step: "1", help: "Tracks are normalized to this." },
    ],
  },
];

export function settings(view: HTMLElement): () => void {
  const form = el("form", { class: "settings", novalidate: true, id: "settings-form" });
  const pending = el("p", { class: "warn", hidden: true, id: "pending-restart" });
  view.replaceChildren(el("section", {}, el("h2", {}, "Settings"), pending, form));
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  const errors = new Map<string, HTMLElement>();
  let current: Record<string, unknown> = {};

  for (const g of FIELDS) {
    const set = el("fieldset", {}, el("legend", {}, g.group));
    for (const f of g.fields) {
      const id = `setting-${f.key}`;
      let input: HTMLInputElement | HTMLSelectElement;
      if (f.kind === "bool") input = el("input", { type: "checkbox", id, name: f.key });
      else if (typeof f.kind === "object") input = el("select", { id, name: f.key }, ...f.kind.choices.map((c) => el("option", { value: c }, c)));
      else input = el("input", { type: f.kind, id, name: f.key, step: f.step ?? false, inputmode: f.kind === "number" ? "decimal" : false });
      const error = el("span", { class: "field-error", id: `${id}-error`, role: "alert" });
      input.setAttribute("aria-describedby", `${id}-error`);
      inputs.set(f.key, input);
      errors.set(f.key, error);
      set.append(el("div", { class: "field" }, el("label", { for: id }, f.label), input, f.help ? el("span", { class: "muted small" }, f.help) : null, error));
    }
    form.append(set);
  }
  const save = el("button", { type: "submit", id: "settings-save" }, "Save");
  const reset = el("button", { type: "button", class: "ghost" }, "Undo changes");
  form.append(el("div", { class: "row" }, save, reset));

  const fill = (r: SettingsReply) => {
    current = r.settings;
    for (const [k, input] of inputs) {
      const v = current[k];
      if (input instanceof HTMLInputElement && input.type === "checkbox") input.checked = Boolean(v);
      else input.value = v === undefined || v === null ? "" : String(v);
    }
    pending.hidden = r.pending_restart.length === 0;
    pending.textContent = `Saved, applied at the next start: ${r.pending_restart.join(", ")}.`;
  };
  const value = (k: string): string | number | boolean => {
    const input = inputs.get(k)!;
    if (input instanceof HTMLInputElement && input.type === "checkbox") return input.checked;
    if (input instanceof HTMLInputElement && input.type === "number") return input.value.trim() === "" ? NaN : Number(input.value);
    return input.value;
  };
  const load = () => api<SettingsReply>("/api/settings").then(fill, (e) => say(describe(e)));
  reset.onclick = () => {
    errors.forEach((e) => (e.textContent = ""));
    void load();
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.forEach((e) => (e.textContent = ""));
    inputs.forEach((i) => i.removeAttribute("aria-invalid"));
    const patch: Record<string, unknown> = {};
    for (const k of inputs.keys()) {
      const v = value(k);
      if (typeof v === "number" && Number.isNaN(v)) {
        errors.get(k)!.textContent = "must be a number";
        inputs.get(k)!.setAttribute("aria-invalid", "true");
        inputs.get(k)!.focus();
        return;
      }
      if (v !== current[k]) patch[k] = v;
    }
    if (Object.keys(patch).length === 0) {
      say("Nothing changed.", true);
      return;
    }
    try {
      fill(await api<SettingsReply>("/api/settings", { method: "PUT", body: patch }));
      say(`Saved: ${Object.keys(patch).join(", ")}.`, true);
    } catch (e) {
      const field = e instanceof ApiError ? e.field : undefined;
      if (field && errors.has(field)) {
        errors.get(field)!.textContent = e instanceof ApiError ? e.message : String(e);
        inputs.get(field)!.setAttribute("aria-invalid", "true");
        inputs.get(field)!.focus();
        say(`Not saved: ${field} ${e instanceof ApiError ? e.message : ""}`);
      } else {
        say(`Not saved: ${describe(e)}`);
      }
    }
  });
  void load();
  return () => {};
}
