// What the policy's `pins` settings make of a tool's flag: hidden (removed from tools/list and
// denied), denied, warned about, or allowed — and the words of a denial, which name what changed
// and print the exact command that accepts it. Pure.
import { shellQuote } from "../cli/usage.ts";
import type { Check, Verdict } from "../policy/decision.ts";
import { pinFlag, type PinFacts, type PinFlag } from "./facts.ts";

export type OnChange = "hide" | "deny" | "warn";
export type NewTools = "allow" | "hide" | "deny";

/** The policy's `pins`, compiled: present only when pinning is on. */
export interface PinSettings {
  onChange: OnChange;
  newTools: NewTools;
}

/** Omitted keys of `pins`: a changed tool is hidden, a new one pinned on sight. */
export const DEFAULT_PIN_SETTINGS: PinSettings = Object.freeze({ onChange: "hide", newTools: "allow" });

/** A policy's `pins` as settings, defaults filled in. */
export function pinSettings(pins: { on_change?: PinSettings["onChange"]; new_tools?: PinSettings["newTools"] }): PinSettings {
  return Object.freeze({ onChange: pins.on_change ?? DEFAULT_PIN_SETTINGS.onChange, newTools: pins.new_tools ?? DEFAULT_PIN_SETTINGS.newTools });
}

export type PinEffect = "hide" | "deny" | "warn" | "allow";

/** How many hex digits of a definition's SHA-256 the accept command quotes. */
export const SHA_PREFIX = 12;

export function pinEffect(settings: PinSettings, flag: PinFlag): PinEffect {
  return flag.kind === "new" ? settings.newTools : settings.onChange;
}

/** The policy key that decides about a flag: "pins.on_change" or "pins.new_tools". */
export function pinRule(flag: PinFlag): string {
  return flag.kind === "new" ? "pins.new_tools" : "pins.on_change";
}

/** `mcpgate pins accept SERVER TOOL --sha256 PREFIX`, quoted for a POSIX shell. */
export function acceptCommand(server: string, tool: string, sha256: string): string {
  const sha = `--sha256 ${sha256.slice(0, SHA_PREFIX)}`;
  // A tool named like an option goes after "--", where no option is looked for.
  return tool.startsWith("-") ? `mcpgate pins accept ${server} ${sha} -- ${shellQuote(tool)}` : `mcpgate pins accept ${server} ${shellQuote(tool)} ${sha}`;
}

/** What the flag means, and what to do about it: the reason of a denial and of a warning. */
export function flagReason(facts: PinFacts, tool: string, flag: PinFlag, settings: PinSettings): string {
  const setting = `${pinRule(flag)}: ${pinEffect(settings, flag)}`;
  switch (flag.kind) {
    case "changed":
      return `its definition changed since it was pinned (${flag.change}; ${setting}); if the change is expected, accept it with: ${acceptCommand(facts.server, tool, flag.sha256)}`;
    case "new":
      if (flag.sha256 === undefined) return `it is not among the tools pinned for this server, and the server has not listed it (${setting})`;
      return `it is new: not among the tools pinned for this server (${setting}); to trust it, accept it with: ${acceptCommand(facts.server, tool, flag.sha256)}`;
    case "unreadable":
      if (facts.unreadable === undefined) return `its pin cannot be checked: ${flag.problem} (${setting})`;
      return `its pin cannot be checked: ${flag.problem} (${setting}); to start over, clear the pins with: mcpgate pins clear ${facts.server}`;
  }
}

/**
 * The check of a call to a tool the pins flag (undefined for one they do not): failed when the
 * settings hide or deny it, with the reason a denial gives; passed (warn, allow) with what was found.
 */
export function pinCheck(settings: PinSettings, facts: PinFacts, tool: string): { check: Check; reason: string } | undefined {
  const flag = pinFlag(facts, tool);
  if (flag === undefined) return undefined;
  const effect = pinEffect(settings, flag);
  const reason = flagReason(facts, tool, flag, settings);
  const passed = effect !== "hide" && effect !== "deny";
  return { check: { kind: "pin", rule: pinRule(flag), passed, detail: effect === "hide" ? `hidden: ${reason}` : reason }, reason };
}

/** The denial of a call that the pins hide or deny; undefined when they let it through. */
export function pinVerdict(settings: PinSettings, facts: PinFacts, tool: string): Verdict | undefined {
  const checked = pinCheck(settings, facts, tool);
  if (checked === undefined || checked.check.passed) return undefined;
  return { effect: "deny", tool, rule: checked.check.rule, reason: checked.reason };
}

/** Whether tools/list must leave `tool` out. */
export function pinHides(settings: PinSettings, facts: PinFacts, tool: string): boolean {
  const flag = pinFlag(facts, tool);
  return flag !== undefined && pinEffect(settings, flag) === "hide";
}
