/** Reading strategy parameters, which Unleash always sends as strings. */

/** Parses a percentage parameter; anything unreadable is 0 (never on). */
export function percentage(text: string | undefined): number {
  // Number() skips the white space and line terminators around the digits, as trim() does,
  // and reads a missing parameter (undefined) as NaN.
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

/** Splits a comma-separated list parameter, trimming entries and dropping empty ones. */
export function listParameter(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The group a rollout hashes in: `groupId`, else the flag name. */
export function groupIdOf(parameters: Record<string, string>, flagName: string): string {
  const groupId = parameters.groupId;
  return groupId === undefined || groupId === '' ? flagName : groupId;
}
