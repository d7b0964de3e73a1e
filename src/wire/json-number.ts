// The number token of JSON, byte by byte, for the incremental checker (stream.ts): which part
// of a number the bytes so far have reached, and what one more byte makes of it.

/** How far a number token has come: which bytes may continue it. */
export const enum NumberPart {
  Sign,
  Zero,
  Int,
  Dot,
  Fraction,
  E,
  ESign,
  Exponent,
}

/** The part a number reaches with byte `c`: -1 if `c` makes it malformed, -2 if the number ended before `c`. */
export function nextNumberPart(part: NumberPart, c: number): NumberPart | -1 | -2 {
  const digit = c >= 0x30 && c <= 0x39;
  let next: NumberPart | -1 | -2 = -1;
  switch (part) {
    case NumberPart.Sign:
      next = c === 0x30 ? NumberPart.Zero : digit ? NumberPart.Int : -1;
      break;
    case NumberPart.Zero:
      next = c === 0x2e ? NumberPart.Dot : c === 0x65 || c === 0x45 ? NumberPart.E : -2;
      break;
    case NumberPart.Int:
      next = digit ? NumberPart.Int : c === 0x2e ? NumberPart.Dot : c === 0x65 || c === 0x45 ? NumberPart.E : -2;
      break;
    case NumberPart.Dot:
      next = digit ? NumberPart.Fraction : -1;
      break;
    case NumberPart.Fraction:
      next = digit ? NumberPart.Fraction : c === 0x65 || c === 0x45 ? NumberPart.E : -2;
      break;
    case NumberPart.E:
      next = c === 0x2b || c === 0x2d ? NumberPart.ESign : digit ? NumberPart.Exponent : -1;
      break;
    case NumberPart.ESign:
      next = digit ? NumberPart.Exponent : -1;
      break;
    case NumberPart.Exponent:
      next = digit ? NumberPart.Exponent : -2;
      break;
  }
  return next;
}

/** Whether a number may end after this part (the input may end there). */
export function numberMayEnd(part: NumberPart): boolean {
  return part === NumberPart.Zero || part === NumberPart.Int || part === NumberPart.Fraction || part === NumberPart.Exponent;
}
