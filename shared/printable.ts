// Text that came from outside (a target's INFO values, banners, certificate names, a targets file) is
// made safe before anything shows it: a terminal obeys escape sequences, and a peer must not be able to
// rewrite what the user sees (docs/readme-probe.md, "Text from targets").

/** C0 controls, DEL, C1 controls, and Unicode line separators and bidirectional overrides. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The text without control characters, at most `maxLength` characters ("..." marks a cut). */
export function printable(text: string, maxLength = Number.POSITIVE_INFINITY): string {
  const clean = text.replace(CONTROL, "");
  return clean.length > maxLength ? `${clean.slice(0, Math.max(0, maxLength - 3))}...` : clean;
}

/** Removes control characters and collapses whitespace, so a value stays on one line. */
export function oneLine(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    .replace(/ {2,}/g, " ")
    .trim();
}

/** Cuts to at most `max` characters (code points), marking the cut with "...". */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 3)).join("")}...`;
}
