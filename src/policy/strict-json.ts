// A `.json` policy is strict JSON: what JSON.parse rejects is an error, with its position, even
// where YAML (which reads the same file for positions) would accept it: trailing commas,
// comments, single quotes. JSON.parse decides; jsonc-parser, told to allow nothing, says where.
import { parse, printParseErrorCode, type ParseError } from "jsonc-parser/lib/esm/main.js";

/** Where the text stops being JSON (1-based line and column), and why. */
export interface JsonProblem {
  line: number;
  col: number;
  message: string;
}

const EXPECTED: Partial<Record<string, string>> = {
  PropertyNameExpected: "a property name in double quotes",
  ValueExpected: "a value",
  ColonExpected: '":"',
  CommaExpected: '"," or the end of the list or mapping',
  CloseBraceExpected: '"}"',
  CloseBracketExpected: '"]"',
  EndOfFileExpected: "the end of the file",
};

const BROKEN: Partial<Record<string, string>> = {
  InvalidNumberFormat: "a malformed number",
  InvalidUnicode: "a malformed \\u escape",
  InvalidEscapeCharacter: "an escape JSON does not have",
  InvalidCharacter: "a control character inside a string",
  UnexpectedEndOfString: "a string that is never closed",
  UnexpectedEndOfComment: "a comment that is never closed",
  UnexpectedEndOfNumber: "a number cut short",
};

/** How the text at `offset` reads in a message. */
function found(source: string, offset: number): string {
  if (offset >= source.length) return "the end of the file";
  return JSON.stringify(/^[^\s,:{}[\]]+/.exec(source.slice(offset, offset + 20))?.[0] ?? source[offset]);
}

/** 1-based line and column of a 0-based offset. */
function position(source: string, offset: number): { line: number; col: number } {
  const before = source.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, col: offset - lineStart + 1 };
}

function explain(source: string, error: ParseError): { offset: number; message: string } {
  const { offset } = error;
  const char = source[offset];
  // A const enum in jsonc-parser's types: its names are what this module can use.
  const code = printParseErrorCode(error.error);
  if (code === "InvalidCommentToken" || code === "UnexpectedEndOfComment") {
    return { offset, message: "invalid JSON: comments are not allowed in a .json policy (YAML allows them)" };
  }
  if (char === "}" || char === "]") {
    const before = source.slice(0, offset).trimEnd();
    if (before.endsWith(",")) return { offset: before.length - 1, message: `invalid JSON: trailing comma before "${char}"` };
  }
  if (char === "'") return { offset, message: "invalid JSON: expected a string in double quotes, got '" };
  const expected = EXPECTED[code];
  if (expected !== undefined) return { offset, message: `invalid JSON: expected ${expected}, got ${found(source, offset)}` };
  return { offset, message: `invalid JSON: ${BROKEN[code] ?? `unexpected ${found(source, offset)}`}` };
}

/** The first place `source` is not strict JSON, or undefined if JSON.parse accepts it. */
export function strictJsonProblem(source: string): JsonProblem | undefined {
  try {
    JSON.parse(source);
    return undefined;
  } catch (error) {
    const errors: ParseError[] = [];
    parse(source, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    // Should the two parsers ever disagree, JSON.parse's word stands, at the top of the file.
    const { offset, message } = first === undefined ? { offset: 0, message: `invalid JSON: ${(error as Error).message}` } : explain(source, first);
    return { ...position(source, offset), message };
  }
}

/** The first place `source` is not JSONC as MCP clients read it (comments and trailing commas allowed). */
export function jsoncProblem(source: string): JsonProblem | undefined {
  const errors: ParseError[] = [];
  parse(source, errors, { disallowComments: false, allowTrailingComma: true, allowEmptyContent: true });
  const first = errors[0];
  if (first === undefined) return undefined;
  const { offset, message } = explain(source, first);
  return { ...position(source, offset), message: message.replace(/^invalid JSON:/, "invalid JSONC:") };
}
