// One setting as a form field, made from the server's JSON schema of the settings
// (GET /api/settings/schema). The settings form and the channel form both render
// their settings with it, so that a setting reads, is labelled and is checked the
// same in both; neither keeps a list of settings.
import { api } from "./api";
import { el } from "./dom";

/** One property of the settings schema, as the server describes it. */
export interface Property {
  type: "number" | "integer" | "boolean" | "string";
  enum?: string[];
  title: string;
  description: string;
  "x-step"?: number;
  "x-unit"?: string;
  "x-apply": "live" | "restart";
  "x-group": string;
  /** `channel`: a channel may set its own value; `server`: one value for all. */
  "x-scope": "channel" | "server";
}

export interface Schema {
  properties: Record<string, Property>;
  /** Every property, in the order a form shows them (grouped by `x-group`). */
  "x-order": string[];
}

export type SettingInput = HTMLInputElement | HTMLSelectElement;

export const settingsSchema = (): Promise<Schema> => api<Schema>("/api/settings/schema");

/** `keys` by their schema group, groups and keys in the schema's order. */
export function groups(schema: Schema, keys: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const key of schema["x-order"]) {
    if (!keys.includes(key)) continue;
    const g = schema.properties[key]["x-group"];
    out.set(g, [...(out.get(g) ?? []), key]);
  }
  return out;
}

export interface FieldOptions {
  /** The element id is `${prefix}${key}`; its message's id adds `-error`. */
  prefix: string;
  /** Says "(next start)" by settings applied at the next start. */
  restartNote?: boolean;
  /** The field may be left empty, meaning the server's value: a yes/no is a
   * choice of three, a list of choices starts with the empty one, and the server's
   * value (when given, `null` when unknown) is shown in place of nothing. */
  optional?: { server: unknown };
}

/** The server's value as a field shows it. */
function shown(p: Property, v: unknown): string {
  if (v === undefined || v === null || v === "") return "none";
  if (p.type === "boolean") return v ? "on" : "off";
  return p["x-unit"] ? `${String(v)} ${p["x-unit"]}` : String(v);
}

/** The field of setting `key`: its row (label, input, help, message), the input
 * and the element its message goes in. */
export function settingField(key: string, p: Property, o: FieldOptions): { row: HTMLElement; input: SettingInput; error: HTMLElement } {
  const id = `${o.prefix}${key}`;
  const opt = o.optional;
  const known = opt && opt.server !== undefined && opt.server !== null;
  const serverChoice = opt ? el("option", { value: "" }, known ? `(the server's: ${shown(p, opt.server)})` : "(the server's)") : null;
  let input: SettingInput;
  if (p.type === "boolean" && opt) input = el("select", { id, name: key }, serverChoice, el("option", { value: "true" }, "on"), el("option", { value: "false" }, "off"));
  else if (p.type === "boolean") input = el("input", { type: "checkbox", id, name: key });
  else if (p.enum) input = el("select", { id, name: key }, serverChoice, ...p.enum.map((c) => el("option", { value: c }, c)));
  else {
    const number = p.type === "number" || p.type === "integer";
    input = el("input", {
      type: number ? "number" : "text",
      id,
      name: key,
      step: number ? String(p["x-step"] ?? (p.type === "integer" ? 1 : "any")) : false,
      inputmode: number ? "decimal" : false,
      autocomplete: "off",
      // The value an empty field stands for, in grey (the help says it in words).
      placeholder: known && opt.server !== "" ? String(opt.server) : false,
    });
  }
  const error = el("span", { class: "field-error", id: `${id}-error`, role: "alert" });
  const help = el("span", { class: "muted small", id: `${id}-help` }, p.description, opt ? `. Empty: the server's value${known ? `, ${shown(p, opt.server)}` : ""}.` : null);
  input.setAttribute("aria-describedby", `${id}-help ${id}-error`);
  const when = o.restartNote && p["x-apply"] === "restart" ? el("span", { class: "muted small" }, " (next start)") : null;
  const row = el("div", { class: "field" }, el("label", { for: id }, p.title, when), input, help, error);
  return { row, input, error };
}

/** Shows `v` (a setting's value on the wire; none: empty) in `input`. */
export function showSetting(input: SettingInput, v: unknown): void {
  if (input instanceof HTMLInputElement && input.type === "checkbox") input.checked = Boolean(v);
  else input.value = v === undefined || v === null ? "" : String(v);
}

/** What `input` holds as a value of `p` on the wire: `empty` when nothing is
 * entered (a checkbox never is), else the value, or why it is none. */
export function readSetting(input: SettingInput, p: Property): { value: unknown } | { error: string } | "empty" {
  if (input instanceof HTMLInputElement && input.type === "checkbox") return { value: input.checked };
  // A number field holds "" for text that is no number.
  if (input instanceof HTMLInputElement && input.validity.badInput) return { error: "must be a number" };
  const raw = input.value.trim();
  if (raw === "") return "empty";
  if (p.type === "boolean") return { value: raw === "true" };
  if (p.type === "number" || p.type === "integer") {
    const n = Number(raw);
    if (!Number.isFinite(n)) return { error: "must be a number" };
    if (p.type === "integer" && !Number.isInteger(n)) return { error: "must be a whole number" };
    return { value: n };
  }
  return { value: raw };
}
