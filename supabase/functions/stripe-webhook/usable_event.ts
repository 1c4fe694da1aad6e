// Which verified webhook bodies the ledger can take: a usable event. Kept apart from
// handler.ts so that the handler stays "verify, then one RPC call".

export type EventHead = { id: string; type: string };

// A usable event: a snapshot event that handle_stripe_event takes and Postgres can store. The
// envelope rules are the RPC's own (it raises 22023 for anything else, so a caller on the
// service path is refused the same way); the rest is what jsonb cannot hold. Anything else is
// answered 400 here, before the database is asked, and nothing is written. Stripe sends none
// of these, so a 400 means a sender that is not Stripe's API (a test tool, a proxy, a bug).
const EVENT_ID = /^evt_[A-Za-z0-9_]{1,244}$/; // 'stripe:<event id>' must fit a 255-character key
const MAX_TYPE_LENGTH = 255;
const LAST_CREATED = 253402300799; // 9999-12-31T23:59:59Z
const MAX_DEPTH = 100; // Postgres parses jsonb recursively: a deep enough body overflows its stack
// numeric holds 131,072 digits before the point and 16,383 after: a literal of at most 1,000
// characters with an exponent within ±1,000 always fits.
const MAX_NUMBER_LENGTH = 1000;
const MAX_EXPONENT = 1000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A number literal that numeric can hold. */
function storableNumber(literal: string): boolean {
  const exponent = /[eE]([+-]?\d+)$/.exec(literal);
  return literal.length <= MAX_NUMBER_LENGTH &&
    (!exponent || Math.abs(Number(exponent[1])) <= MAX_EXPONENT);
}

/** Text that Postgres can store: no NUL (\u0000) and no unpaired surrogate. */
const storableText = (s: string) => !s.includes("\0") && s.isWellFormed();

/** How deeply the JSON text nests objects and arrays (read without recursion). */
function nesting(text: string): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") deepest = Math.max(deepest, ++depth);
    else if (c === "}" || c === "]") depth--;
  }
  return deepest;
}

/** What Postgres could not store in `value` (keys and strings), or undefined. */
function unstorable(value: unknown): string | undefined {
  if (typeof value === "string") {
    return storableText(value)
      ? undefined
      : "a string holds \\u0000 or an unpaired surrogate";
  }
  if (typeof value !== "object" || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (!storableText(key)) {
      return "a key holds \\u0000 or an unpaired surrogate";
    }
    const problem = unstorable(item);
    if (problem) return problem;
  }
  return undefined;
}

/** The event's id and type when `body` (already verified and valid JSON) is usable; else why not. */
export function usableEvent(body: string): EventHead | string {
  // First, and without recursion: the walks below recurse once per level.
  if (nesting(body) > MAX_DEPTH) {
    return `nested more than ${MAX_DEPTH} levels deep`;
  }
  let badNumber: string | undefined;
  // The reviver's third argument carries each number's source text, which parsing rounds
  // (1e-200000 becomes 0, but numeric cannot hold it). Runtimes without it check the value.
  const e: unknown = JSON.parse(
    body,
    (_key, value, context?: { source?: string }) => {
      const literal = context?.source ?? String(value);
      if (
        typeof value === "number" && badNumber === undefined &&
        !storableNumber(literal)
      ) badNumber = literal;
      return value;
    },
  );
  if (!isObject(e)) return "not a JSON object";
  if (typeof e.id !== "string" || !EVENT_ID.test(e.id)) {
    return "id must be evt_ and 1 to 244 letters, digits or underscores";
  }
  if (e.object !== "event") {
    return 'object must be "event" (a snapshot event; thin events are not taken)';
  }
  if (
    typeof e.type !== "string" || e.type.length < 1 ||
    e.type.length > MAX_TYPE_LENGTH
  ) {
    return `type must be a string of 1 to ${MAX_TYPE_LENGTH} characters`;
  }
  if (
    typeof e.created !== "number" || !Number.isInteger(e.created) ||
    e.created < 0 || e.created > LAST_CREATED
  ) {
    return "created must be whole seconds since 1970 (a JSON number, before the year 10000)";
  }
  if (
    e.livemode !== undefined && e.livemode !== null &&
    typeof e.livemode !== "boolean"
  ) {
    return "livemode must be true or false";
  }
  if (!isObject(e.data) || !isObject(e.data.object)) {
    return "data.object must be a JSON object";
  }
  if (badNumber !== undefined) {
    return `the number ${badNumber.slice(0, 40)} is out of range`;
  }
  return unstorable(e) ?? { id: e.id, type: e.type };
}
