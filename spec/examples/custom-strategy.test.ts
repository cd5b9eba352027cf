/**
 * examples/custom-strategy: a user-defined strategy class, registered at init, whose flags
 * also carry constraints. The script runs as a child process against dist/.
 */
import { requireDist, runExample } from '../support/example-process';

/** Table rows as `{ user: { flag: on|off } }`, split on the two-space column gaps. */
function table(stdout: string): Record<string, Record<string, string>> {
  const [header, ...rows] = stdout.trimEnd().split('\n').map((line) => line.split(/ {2,}/));
  expect(header).toEqual(['user', 'email', 'app', 'staff-preview', 'partner-portal']);
  const out: Record<string, Record<string, string>> = {};
  for (const [user, , , staff, partner] of rows) out[user!] = { 'staff-preview': staff!, 'partner-portal': partner! };
  return out;
}

describe('examples/custom-strategy', () => {
  beforeAll(requireDist);

  test('the custom strategy decides after the constraints, alongside built-in strategies', async () => {
    const run = await runExample('examples/custom-strategy/index.mjs');
    // No "unknown strategy" warning: the strategy was registered.
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(table(run.stdout)).toEqual({
      // Staff domain and a new enough app.
      ada: { 'staff-preview': 'on', 'partner-portal': 'off' },
      // Staff domain, but the appVersion constraint fails before the strategy is asked.
      bo: { 'staff-preview': 'off', 'partner-portal': 'off' },
      // A partner domain, matched whatever its letter case.
      cy: { 'staff-preview': 'off', 'partner-portal': 'on' },
      // No partner domain, but the built-in userWithId strategy of the same flag says yes.
      dee: { 'staff-preview': 'off', 'partner-portal': 'on' },
      // A domain that merely ends with the staff domain does not count.
      mal: { 'staff-preview': 'off', 'partner-portal': 'off' },
      // No e-mail address at all.
      eve: { 'staff-preview': 'off', 'partner-portal': 'off' },
    });
  }, 30_000);
});
