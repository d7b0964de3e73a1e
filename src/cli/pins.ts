// `mcpgate pins list|accept|clear`: the tool-definition pins of the servers mcpgate has wrapped
// (SPEC §13), kept in the state directory. `accept` pins the definition a session saw and
// flagged — exactly that one when --sha256 is given, as the denial's command does — so the tool
// passes again; `clear` forgets pins, and the next session pins what it sees afresh.
import { Chalk, supportsColor } from "chalk";
import { pinEffect, SHA_PREFIX, acceptCommand, type PinSettings } from "../pins/verdict.ts";
import { selectServers, serverLabel, toolStates, type ToolState } from "../pins/select.ts";
import { PinStore, type Listed } from "../pins/store.ts";
import type { PinSet } from "../pins/pin-set.ts";
import { factsOf, pinFlag, type PinFacts } from "../pins/facts.ts";
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "./exit-codes.ts";
import { printError } from "./log.ts";
import { loadOrReport, resolvePolicyPath } from "./policy.ts";

export interface PinsListOptions {
  server?: string;
  policy?: string;
  json?: boolean;
}

export interface PinsAcceptOptions {
  server?: string;
  all?: boolean;
  sha256?: string;
}

export interface PinsClearOptions {
  server?: string;
  all?: boolean;
}

/** The store the gateway uses; injectable so tests (and other state directories) can be used. */
export interface PinsContext {
  store?: PinStore;
  now?: () => number;
}

export function pinsList(selector: string | undefined, options: PinsListOptions, context: PinsContext = {}): number {
  const store = context.store ?? new PinStore();
  let settings: PinSettings | undefined;
  const policyPath = resolvePolicyPath(options.policy);
  if (policyPath !== undefined) {
    const policy = loadOrReport(policyPath);
    if (policy === undefined) return EXIT_INVALID;
    settings = policy.pins;
  }
  const all = store.list();
  const chosen = selectServers(all, selector ?? options.server);
  if (options.json) {
    const shown = chosen.map((item) => ("set" in item ? { id: item.id, file: item.file, server: item.set.server, tools: toolStates(item.set).map((tool) => withAdvice(item.id, tool, settings)) } : item));
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  } else if (chosen.length > 0) {
    process.stdout.write(renderList(chosen, settings));
  }
  if (chosen.length === 0) {
    printError(all.length === 0 ? `no pins yet in ${store.dir}` : `no pins of a server named ${JSON.stringify(selector ?? options.server)}; the servers are:\n${names(all)}`);
    return all.length === 0 && selector === undefined && options.server === undefined ? EXIT_OK : EXIT_INVALID;
  }
  return EXIT_OK;
}

/** A tool's state with what the policy does about it and the command that accepts it. */
function withAdvice(id: string, tool: ToolState, settings: PinSettings | undefined): ToolState & { effect?: string; accept?: string } {
  if (tool.seen === undefined) return tool;
  const flag = tool.status === "new" ? ({ kind: "new", sha256: tool.seen.sha256 } as const) : ({ kind: "changed", change: tool.seen.change ?? "", sha256: tool.seen.sha256 } as const);
  return { ...tool, ...(settings === undefined ? {} : { effect: pinEffect(settings, flag) }), accept: acceptCommand(id, tool.name, tool.seen.sha256) };
}

function renderList(chosen: Listed[], settings: PinSettings | undefined): string {
  const chalk = new Chalk({ level: process.stdout.isTTY ? (supportsColor ? supportsColor.level : 1) : 0 });
  const lines: string[] = [];
  for (const item of chosen) {
    if (!("set" in item)) {
      lines.push(`${chalk.bold(item.id)}  ${chalk.red(`unreadable: ${item.problem}`)}`);
      continue;
    }
    lines.push(`${chalk.bold(serverLabel(item.set))}  ${chalk.dim(`id ${item.id}`)}`);
    const tools = toolStates(item.set).map((tool) => withAdvice(item.id, tool, settings));
    const width = Math.max(0, ...tools.map((tool) => tool.name.length));
    for (const tool of tools) {
      const name = tool.name.padEnd(width);
      if (tool.seen === undefined) {
        lines.push(`  ${chalk.green("pinned ")} ${name}  ${chalk.dim(`${tool.sha256!.slice(0, SHA_PREFIX)}  ${tool.pinnedAt}`)}`);
        continue;
      }
      const what = tool.status === "new" ? chalk.yellow("new    ") : chalk.red("changed");
      const effect = tool.effect === undefined ? "" : `, ${tool.effect === "hide" ? "hidden and denied" : tool.effect === "deny" ? "denied" : tool.effect === "warn" ? "warned about" : "allowed"} by this policy`;
      const detail = tool.status === "new" ? `not pinned; seen ${tool.seen.at}${effect}` : `${tool.seen.change} (seen ${tool.seen.at})${effect}`;
      lines.push(`  ${what} ${name}  ${detail}`);
      lines.push(`  ${" ".repeat(7)} ${" ".repeat(width)}  ${chalk.dim(`accept: ${tool.accept}`)}`);
    }
    if (tools.length === 0) lines.push(chalk.dim("  (no tools)"));
  }
  return `${lines.join("\n")}\n`;
}

function names(all: Listed[]): string {
  return all.map((item) => `  ${item.id}  ${"set" in item ? serverLabel(item.set) : `(unreadable: ${item.problem})`}`).join("\n");
}

/** The one pin set `selector` names among those that `fits`, or an exit code after saying why not. */
function oneServer(all: Listed[], selector: string | undefined, fits: (set: PinSet) => boolean, what: string): { id: string; set: PinSet } | number {
  const named = selectServers(all, selector).filter((item): item is Extract<Listed, { set: PinSet }> => "set" in item);
  const fitting = named.filter((item) => fits(item.set));
  if (fitting.length === 1) return fitting[0]!;
  if (fitting.length === 0) {
    if (all.length === 0) printError("no pins yet: nothing to accept");
    else if (named.length === 0) printError(`no pins of a server named ${JSON.stringify(selector)}; the servers are:\n${names(all)}`);
    else printError(`no ${what}; see mcpgate pins list`);
    return EXIT_INVALID;
  }
  printError(`${what} in more than one server; name one of them first, as in mcpgate pins accept <server> ...:\n${names(fitting)}`);
  return EXIT_USAGE;
}

/**
 * `pins accept [SERVER] TOOL [--sha256 PREFIX]` or `pins accept SERVER --all`: pins the
 * definitions seen (and flagged) as they were seen. `tools` holds what the command line gave
 * after `accept` (and after "--", for a tool named like an option).
 */
export async function pinsAccept(operands: string[], options: PinsAcceptOptions, context: PinsContext = {}): Promise<number> {
  const store = context.store ?? new PinStore();
  const at = new Date((context.now ?? Date.now)()).toISOString();
  let selector = options.server;
  let tools = operands;
  if (selector === undefined && (operands.length >= 2 || (options.all === true && operands.length === 1))) [selector, ...tools] = operands;
  if (options.all === true ? tools.length > 0 : tools.length !== 1) {
    printError(options.all === true ? "--all accepts every change of one server: give the server only, as in mcpgate pins accept <server> --all" : "name one tool to accept, as in mcpgate pins accept <server> <tool> (see mcpgate pins list)");
    return EXIT_USAGE;
  }
  if (options.sha256 !== undefined && (options.all === true || !/^[0-9a-f]{4,64}$/.test(options.sha256))) {
    printError(options.all === true ? "--sha256 names one tool's definition; it does not go with --all" : `--sha256: expected 4 to 64 lowercase hex digits, got ${JSON.stringify(options.sha256)}`);
    return EXIT_USAGE;
  }
  const tool = tools[0];
  const pending = (set: PinSet): string[] => [...set.seen].filter(([name, seen]) => set.pins.get(name)?.sha256 !== seen.sha256 && (tool === undefined || name === tool)).map(([name]) => name);
  const chosen = oneServer(store.list(), selector, (set) => pending(set).length > 0, tool === undefined ? "changed or new tools to accept" : `change of ${JSON.stringify(tool)} to accept`);
  if (typeof chosen === "number") return chosen;
  const wanted = pending(chosen.set);
  if (options.sha256 !== undefined && !chosen.set.seen.get(tool!)!.sha256.startsWith(options.sha256)) {
    printError(`the definition of ${JSON.stringify(tool)} seen last is ${chosen.set.seen.get(tool!)!.sha256.slice(0, SHA_PREFIX)}, not ${options.sha256}: it changed again since; see mcpgate pins list`);
    return EXIT_INVALID;
  }
  let accepted: string[] = [];
  await store.update(chosen.set.server, (set) => {
    // As the file is now: another process may have accepted, or seen a newer definition, meanwhile.
    accepted = wanted.filter((name) => {
      const seen = set.seen.get(name);
      if (seen === undefined || seen.sha256 !== chosen.set.seen.get(name)!.sha256) return false;
      set.pins.set(name, { sha256: seen.sha256, parts: seen.parts, at });
      set.seen.delete(name);
      return true;
    });
    return accepted.length > 0;
  });
  if (accepted.length < wanted.length) {
    printError(`the pins of ${serverLabel(chosen.set)} changed while accepting; see mcpgate pins list`);
    return EXIT_INVALID;
  }
  for (const name of accepted) process.stdout.write(`accepted ${name} of ${serverLabel(chosen.set)}: pinned ${chosen.set.seen.get(name)!.sha256.slice(0, SHA_PREFIX)}\n`);
  return EXIT_OK;
}

/** `pins clear SERVER [TOOL...]` or `pins clear --all`: forgets pins (and what was seen since). */
export async function pinsClear(operands: string[], options: PinsClearOptions, context: PinsContext = {}): Promise<number> {
  const store = context.store ?? new PinStore();
  let selector = options.server;
  let tools = operands;
  if (selector === undefined && options.all !== true) [selector, ...tools] = operands;
  if ((selector === undefined) === (options.all !== true) || (options.all === true && tools.length > 0)) {
    printError("name the server whose pins to clear (see mcpgate pins list), or pass --all to clear every server's");
    return EXIT_USAGE;
  }
  const all = store.list();
  const chosen = selectServers(all, selector);
  if (chosen.length === 0) {
    printError(all.length === 0 ? "no pins yet: nothing to clear" : `no pins of a server named ${JSON.stringify(selector)}; the servers are:\n${names(all)}`);
    return EXIT_INVALID;
  }
  if (chosen.length > 1 && options.all !== true) {
    printError(`${JSON.stringify(selector)} names more than one server; give its id:\n${names(chosen)}`);
    return EXIT_USAGE;
  }
  for (const item of chosen) {
    if (tools.length === 0 || !("set" in item)) {
      if (await store.remove(item.id)) process.stdout.write(`cleared the pins of ${"set" in item ? serverLabel(item.set) : item.id}\n`);
      continue;
    }
    const cleared: string[] = [];
    await store.update(item.set.server, (current) => {
      for (const name of tools) {
        const pinned = current.pins.delete(name);
        if (current.seen.delete(name) || pinned) cleared.push(name);
      }
      return cleared.length > 0;
    });
    for (const name of tools) process.stdout.write(`${cleared.includes(name) ? "cleared" : "no pin of"} ${name} of ${serverLabel(item.set)}\n`);
  }
  return EXIT_OK;
}

/**
 * What the stored pins say about `tool` of the server `command` starts (any name it gave
 * itself): for `mcpgate explain ... -- COMMAND`. The facts of the first such pin set that flags
 * the tool, else of the first; undefined when that server has no pins.
 */
export function storedPinFacts(command: readonly string[], tool: string, store: PinStore = new PinStore()): { facts: PinFacts; file: string } | undefined {
  const sets = store.list().filter((item) => "set" in item ? sameCommand(item.set.server.command, command) : false);
  const all = sets.map((item) => ({ facts: factsOf(item.id, (item as { set: PinSet }).set, new Map()), file: item.file }));
  return all.find(({ facts }) => pinFlag(facts, tool) !== undefined) ?? all[0];
}

function sameCommand(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((arg, index) => arg === b[index]);
}
