/**
 * `npm test` runs the engine and specification suites again under non-UTC zones
 * (`npm run test:tz`): this proves each such run really is off UTC, so a run that
 * silently fell back to UTC cannot pass for one that checked time-zone safety.
 */
test('when TZ names a zone other than UTC, the process really runs off UTC', () => {
  const tz = process.env.TZ;
  if (tz === undefined || tz === '' || tz === 'UTC') return;
  // The zones npm test uses (Asia/Kathmandu, UTC+5:45; America/St_Johns, UTC-3:30 or
  // -2:30) are off UTC in winter and in summer.
  expect(new Date(Date.UTC(2026, 0, 15)).getTimezoneOffset()).not.toBe(0);
  expect(new Date(Date.UTC(2026, 6, 15)).getTimezoneOffset()).not.toBe(0);
  expect(new Date(Date.UTC(2026, 0, 15)).getTimezoneOffset() % 60).not.toBe(0);
});
