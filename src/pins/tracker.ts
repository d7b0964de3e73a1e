// One session's view of its server's pins. Every tools/list answer is checked: each listed
// tool's definition is digested and compared with its pin (read from the store at that moment,
// so an accept made meanwhile counts), the facts the policy reads are made afresh (facts.ts),
// and what is new to the store — pins of a first sight or of new tools that `new_tools: allow`
// lets in, sightings of changed and new tools, sightings a pin now matches — is merged into the
// file in the background (the store runs one process's updates of a file in order). The decisions of this session never wait for
// the disk: they use the facts in memory.
import { decodeSpan, member } from "../wire/message.ts";
import type { Span } from "../wire/scan.ts";
import type { Logger } from "../relay/log.ts";
import { digestTool, type ToolDigest } from "./definition.ts";
import { factsOf, pinFlag, type PinFacts } from "./facts.ts";
import { metaServerName, serverId, type ServerIdentity } from "./identity.ts";
import { pinOf, type Pin, type PinSet } from "./pin-set.ts";
import type { PinStore } from "./store.ts";
import { flagReason, pinEffect, pinHides, type PinSettings } from "./verdict.ts";

export interface TrackerOptions {
  store: PinStore;
  /** The server's command line, as the client config gives it. */
  command: readonly string[];
  /** The server's serverInfo name as the session knows it (initialize, server/discover). */
  serverName(): string | undefined;
  log: Logger;
  /** Wall-clock milliseconds: the time a pin records, and how long a read stays fresh. */
  clock?: () => number;
}

/** A call to a flagged tool re-reads the pins at most this often (an accept may have come meanwhile). */
const REREAD_MS = 1_000;

export class PinTracker {
  readonly #options: TrackerOptions;
  #identity: ServerIdentity | undefined;
  #id = "";
  /** The set as last read (undefined: the server has none), or why it could not be read. */
  #set: PinSet | undefined;
  #problem: string | undefined;
  #readAt = Number.NEGATIVE_INFINITY;
  /** The latest definition of each tool this session saw listed. */
  readonly #observed = new Map<string, ToolDigest>();
  readonly #unreadable = new Map<string, string>();
  /** Pins this session made, which may not be on disk yet. */
  readonly #made = new Map<string, Pin>();
  /** A first sight is being listed (the server had no pins when this session first looked): every tool is pinned. */
  #trusting: boolean | undefined;
  #facts: PinFacts | undefined;
  /** What each flagged tool was last warned about, so a list seen again says nothing new. */
  readonly #warned = new Map<string, string>();
  /** Whether a tools/list answer was checked: the server's identity is then the one it gave. */
  #listed = false;

  constructor(options: TrackerOptions) {
    this.#options = options;
  }

  /** The facts for judging a call to `tool`: read again first if it is flagged and the read is old. */
  facts(tool: string): PinFacts | undefined {
    if (!this.#listed) {
      // No list yet: the pins of the server as the session knows it so far.
      const name = this.#options.serverName();
      if (this.#identity === undefined || this.#identity.name !== name) this.#switchTo({ command: this.#options.command, ...(name === undefined ? {} : { name }) });
    }
    if (pinFlag(this.#facts!, tool) !== undefined && this.#now() - this.#readAt >= REREAD_MS) this.#read();
    return this.#facts;
  }

  /**
   * Checks one tools/list answer: `result` is its result's members, `tools` the list's elements.
   * Returns which tools the list must leave out under `settings`.
   */
  listed(buf: Buffer, result: Span[], tools: Span[], settings: PinSettings): (tool: string) => boolean {
    this.#listed = true;
    const metaSpan = member(result, "_meta");
    const identity: ServerIdentity = { command: this.#options.command, ...this.#named(metaSpan === undefined ? undefined : metaServerName({ _meta: safeDecode(buf, metaSpan) })) };
    if (this.#identity === undefined || serverId(identity) !== this.#id) this.#switchTo(identity);
    else this.#read();
    const set = this.#set;
    if (this.#problem !== undefined) {
      this.#warnOnce("*", this.#problem, `pins: the pins of ${label(this.#identity!)} cannot be read, so no tool of it can be checked (pins.on_change: ${settings.onChange}): ${this.#problem}`);
      const facts = this.#facts!;
      return (tool) => pinHides(settings, facts, tool);
    }
    this.#trusting ??= set === undefined || set.pins.size === 0;
    const at = new Date(this.#now()).toISOString();
    const page: ToolDigest[] = [];
    for (const element of tools) {
      let digest: ToolDigest | undefined;
      try {
        digest = digestTool(buf, element);
      } catch (error) {
        const name = (safeDecode(buf, element) as { name?: unknown } | undefined)?.name;
        if (typeof name === "string") this.#unreadable.set(name, `its definition could not be read (${(error as Error).message})`);
        continue;
      }
      if (digest === undefined) continue;
      this.#unreadable.delete(digest.name);
      this.#observed.set(digest.name, digest);
      page.push(digest);
      const isNew = set?.pins.has(digest.name) !== true && !this.#made.has(digest.name);
      if (isNew && (this.#trusting || settings.newTools === "allow")) this.#made.set(digest.name, pinOf(digest, at));
    }
    const pinnedHere = page.filter((digest) => this.#made.get(digest.name)?.sha256 === digest.sha256 && set?.pins.has(digest.name) !== true && !this.#warned.has(digest.name));
    for (const digest of pinnedHere) this.#warned.set(digest.name, "pinned");
    if (pinnedHere.length > 0) {
      const shown = pinnedHere.slice(0, 10).map((digest) => digest.name).join(", ");
      const names = pinnedHere.length > 10 ? `${shown} and ${pinnedHere.length - 10} more` : shown;
      const why = this.#trusting ? "first sight of the server, trusted" : "new tools, pins.new_tools: allow";
      this.#options.log.warn(`pins: pinned ${names} of ${label(this.#identity!)} (${why}) in ${this.#options.store.file(this.#id)}`);
    }
    // A list that ends (no nextCursor) ends the first sight: tools that come later are new.
    if (member(result, "nextCursor") === undefined) this.#trusting = false;
    this.#refresh();
    this.#report(page, settings);
    this.#save(page, at);
    const facts = this.#facts!;
    return (tool) => pinHides(settings, facts, tool);
  }

  #named(fromResult: string | undefined): { name?: string } {
    const name = fromResult ?? this.#options.serverName();
    return name === undefined ? {} : { name };
  }

  #switchTo(identity: ServerIdentity): void {
    this.#identity = identity;
    this.#id = serverId(identity);
    this.#observed.clear();
    this.#unreadable.clear();
    this.#made.clear();
    this.#warned.clear();
    this.#trusting = undefined;
    this.#read();
  }

  #read(): void {
    this.#readAt = this.#now();
    try {
      this.#set = this.#options.store.read(this.#id);
      this.#problem = undefined;
    } catch (error) {
      this.#set = undefined;
      this.#problem = (error as Error).message;
    }
    this.#refresh();
  }

  /** The facts afresh: the set as read, with this session's own pins where the file lacks them. */
  #refresh(): void {
    if (this.#problem !== undefined) {
      this.#facts = { server: this.#id, flagged: new Map(), pinned: undefined, unreadable: this.#problem };
      return;
    }
    let set = this.#set;
    if (this.#made.size > 0) {
      const pins = new Map(this.#made);
      for (const [name, pin] of set?.pins ?? []) pins.set(name, pin);
      set = { server: this.#identity!, pins, seen: set?.seen ?? new Map() };
    }
    this.#facts = factsOf(this.#id, set, this.#observed, this.#unreadable);
  }

  /** One stderr line per flagged tool of this page, unless it said the same before. */
  #report(page: ToolDigest[], settings: PinSettings): void {
    const facts = this.#facts!;
    for (const name of [...page.map((digest) => digest.name), ...this.#unreadable.keys()]) {
      const flag = pinFlag(facts, name);
      if (flag === undefined) continue;
      const effect = pinEffect(settings, flag);
      const did = effect === "hide" ? "hidden and denied" : effect === "deny" ? "denied" : effect === "warn" ? "still listed and allowed" : "allowed";
      this.#warnOnce(name, `${flag.kind}:${"sha256" in flag ? flag.sha256 : ""}:${effect}`, `pins: ${name} of ${label(this.#identity!)}: ${did}: ${flagReason(facts, name, flag, settings)}`);
    }
  }

  #warnOnce(key: string, what: string, message: string): void {
    if (this.#warned.get(key) === what) return;
    this.#warned.set(key, what);
    this.#options.log.warn(message);
  }

  /** Merges what this page taught into the file: new pins, sightings, sightings a pin now matches. */
  #save(page: ToolDigest[], at: string): void {
    const made = new Map<string, Pin>();
    for (const digest of page) {
      const pin = this.#made.get(digest.name);
      if (pin?.sha256 === digest.sha256 && this.#set?.pins.has(digest.name) !== true) made.set(digest.name, pin);
    }
    // The file as last read already says all this page says: no lock, no write.
    if (made.size === 0 && !page.some((digest) => teaches(this.#set, digest))) return;
    const { store, log } = this.#options;
    const identity = this.#identity!;
    const update = (): Promise<unknown> =>
      store.update(identity, (set) => {
        let changed = false;
        for (const [name, pin] of made) {
          if (set.pins.has(name)) continue;
          set.pins.set(name, pin);
          changed = true;
        }
        for (const digest of page) {
          if (!teaches(set, digest)) continue;
          if (set.pins.get(digest.name)?.sha256 === digest.sha256) set.seen.delete(digest.name);
          else set.seen.set(digest.name, { sha256: digest.sha256, parts: digest.parts, at });
          changed = true;
        }
        return changed;
      });
    const file = store.file(this.#id);
    update().catch((error: unknown) => log.warn(`pins: could not write ${file}: ${(error as Error).message}; this session keeps its pins in memory`));
  }

  #now(): number {
    return (this.#options.clock ?? Date.now)();
  }
}

/**
 * Whether a listed definition tells the pin set something: a sighting to record (it is not the
 * pin, and not the sighting already recorded), or one to drop (the pin matches it now).
 */
function teaches(set: PinSet | undefined, digest: ToolDigest): boolean {
  const pin = set?.pins.get(digest.name);
  const seen = set?.seen.get(digest.name);
  return pin?.sha256 === digest.sha256 ? seen !== undefined : seen?.sha256 !== digest.sha256;
}

function safeDecode(buf: Buffer, span: Span): unknown {
  try {
    return decodeSpan(buf, span);
  } catch {
    return undefined;
  }
}

/** "raw-server (node server.mjs)": how a log line names a server. */
function label(identity: ServerIdentity): string {
  const command = identity.command.join(" ");
  return identity.name === undefined ? command : `${identity.name} (${command})`;
}
