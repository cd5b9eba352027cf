import { readFileSync } from 'node:fs';
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import { SwitchyardError } from '../../lib/errors';
import {
  closestOption,
  ConfigError,
  DEFAULT_METRICS_INTERVAL,
  DEFAULT_REFRESH_INTERVAL,
  DEFAULT_TIMEOUT,
  editDistance,
  resolveConfig,
  SHORT_TIMEOUT,
  unknownOptionWarnings,
  type UnleashConfig,
} from '../../lib/options';
import { SDK_NAME, SDK_VERSION } from '../../lib/version';

const base = { url: 'http://127.0.0.1:4242/api', appName: 'app' };

function configError(options: unknown): ConfigError {
  try {
    new UnleashClient(options as UnleashConfig);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err).toMatchObject({ name: 'ConfigError', code: 'CONFIG_INVALID' });
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('required options throw at construction, naming the option', () => {
  test.each([
    ['no appName', { url: base.url }, 'appName'],
    ['an empty appName', { url: base.url, appName: '  ' }, 'appName'],
    ['a numeric appName', { url: base.url, appName: 42 }, 'appName'],
    ['no url', { appName: 'app' }, 'url'],
    ['an empty url', { appName: 'app', url: '' }, 'url'],
    ['a relative url', { appName: 'app', url: '/api' }, 'url'],
    ['a non-http url', { appName: 'app', url: 'ftp://host/api' }, 'url'],
    ['a url with a query', { appName: 'app', url: 'http://host/api?token=x' }, 'url'],
  ])('%s', (_label, options, option) => {
    const err = configError(options);
    expect(err.option).toBe(option);
    expect(err.message).toContain(`"${option}"`);
  });

  test('no options at all', () => {
    expect(configError(undefined).option).toBe('options');
  });

  test('an invalid url is not echoed (it may be a token pasted into the wrong option)', () => {
    expect(configError({ appName: 'app', url: 'secret-token-value' }).message).not.toContain('secret-token-value');
  });

  test('offline needs no url', () => {
    expect(() => new UnleashClient({ appName: 'app', offline: true, cache: new MemoryCache() })).not.toThrow();
    expect(resolveConfig({ appName: 'app', offline: true, url: 'ignored' }).config.url).toBeUndefined();
  });
});

describe('defaults', () => {
  test('match the README table', () => {
    const { config, warnings } = resolveConfig(base);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      url: 'http://127.0.0.1:4242/api',
      environment: 'default',
      refreshInterval: DEFAULT_REFRESH_INTERVAL,
      metricsInterval: DEFAULT_METRICS_INTERVAL,
      timeout: DEFAULT_TIMEOUT,
      maxBodySize: 40 * 1024 * 1024,
      disableMetrics: false,
      disableRegistration: false,
      offline: false,
      tags: [],
      customHeaders: {},
    });
    expect([DEFAULT_REFRESH_INTERVAL, DEFAULT_METRICS_INTERVAL, DEFAULT_TIMEOUT]).toEqual([15_000, 60_000, 10_000]);
    expect(config.instanceId).toContain(String(process.pid));
  });

  test('trailing slashes of the url are dropped', () => {
    expect(resolveConfig({ ...base, url: 'https://unleash.example.com/api///' }).config.url).toBe('https://unleash.example.com/api');
  });

  test('SDK_VERSION is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(SDK_VERSION).toBe(pkg.version);
    expect(SDK_NAME).toBe(`${pkg.name}:${pkg.version}`);
  });
});

describe('odd values are replaced with a warning, never a failure', () => {
  test.each([
    ['refreshInterval', -5, DEFAULT_REFRESH_INTERVAL],
    ['refreshInterval', Number.NaN, DEFAULT_REFRESH_INTERVAL],
    ['refreshInterval', '15000', DEFAULT_REFRESH_INTERVAL],
    ['refreshInterval', 15, 1_000],
    ['metricsInterval', Infinity, DEFAULT_METRICS_INTERVAL],
    ['metricsInterval', 60, 1_000],
    ['timeout', 0, DEFAULT_TIMEOUT],
    ['timeout', -1, DEFAULT_TIMEOUT],
    ['maxBodySize', 0, 40 * 1024 * 1024],
    ['maxBodySize', '1000', 40 * 1024 * 1024],
    ['maxBodySize', Number.NaN, 40 * 1024 * 1024],
    ['maxBodySize', 4 * 1024 * 1024 * 1024, 512 * 1024 * 1024],
  ])('%s = %p becomes %p', (name, value, expected) => {
    const { config, warnings } = resolveConfig({ ...base, [name]: value } as UnleashConfig);
    expect(config[name as 'timeout']).toBe(expected);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(name);
  });

  test('refreshInterval 0 (fetch once) and sub-second timeouts are honoured as given', () => {
    const { config, warnings } = resolveConfig({ ...base, refreshInterval: 0, timeout: 250 });
    expect(warnings).toEqual([]);
    expect(config.refreshInterval).toBe(0);
    expect(config.timeout).toBe(250);
  });

  test('maxBodySize takes any positive number of bytes up to 512 MiB', () => {
    const { config, warnings } = resolveConfig({ ...base, maxBodySize: 1000.7 });
    expect(warnings).toEqual([]);
    expect(config.maxBodySize).toBe(1000);
  });

  test('metricsInterval 0 disables metrics', () => {
    expect(resolveConfig({ ...base, metricsInterval: 0 }).config.disableMetrics).toBe(true);
  });

  test('bad headers are dropped by name, never quoting a value', () => {
    const { config, warnings } = resolveConfig({
      ...base,
      customHeaders: { Authorization: 'ok-token', 'bad name': 'x', 'X-Evil': 'secret\r\nInjected: 1', 'X-Num': 5 as unknown as string },
    });
    expect(config.customHeaders).toEqual({ Authorization: 'ok-token', 'X-Num': '5' });
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).not.toContain('secret');
  });

  test('bad tags, strategies and callbacks are ignored with a warning each', () => {
    const { config, warnings } = resolveConfig({
      ...base,
      tags: [{ name: 'simple', value: 'a' }, { name: '', value: 'b' }, null] as never,
      customStrategies: [{ name: 'x' }] as never,
      fallbackFunction: 'no' as never,
      eventCallback: 42 as never,
      customHeadersFunction: {} as never,
    });
    expect(config.tags).toEqual([{ name: 'simple', value: 'a' }]);
    expect(config.customStrategies).toEqual([]);
    expect(config.fallbackFunction).toBeUndefined();
    expect(config.customHeadersFunction).toBeUndefined();
    expect(warnings).toHaveLength(6);
  });
});

describe('a timeout below 100 ms is honoured, with a warning', () => {
  test.each([1, 10, 99.5])('%p ms', (timeout) => {
    const { config, warnings } = resolveConfig({ ...base, timeout });
    expect(config.timeout).toBe(timeout);
    expect(warnings).toEqual([`timeout ${timeout} ms is very short (it is in milliseconds, not seconds): most requests will time out; it is used as given`]);
  });

  test.each([SHORT_TIMEOUT, 250, DEFAULT_TIMEOUT])('%p ms: no warning', (timeout) => {
    expect(resolveConfig({ ...base, timeout }).warnings).toEqual([]);
  });
});

describe('unknown option keys are named, with the closest known option', () => {
  test.each([
    ['refreshIntervall', 'refreshInterval'],
    ['customHeader', 'customHeaders'],
    ['refershInterval', 'refreshInterval'],
    ['appname', 'appName'],
    ['APPNAME', 'appName'],
    ['metricInterval', 'metricsInterval'],
    ['metricsIntervall', 'metricsInterval'],
    ['disableMetric', 'disableMetrics'],
    ['disabledMetrics', 'disableMetrics'],
    ['disableRegistation', 'disableRegistration'],
    ['enviroment', 'environment'],
    ['enviornment', 'environment'],
    ['instanceID', 'instanceId'],
    ['projectname', 'projectName'],
    ['project', 'projectName'],
    ['projectId', 'projectName'],
    ['environmentName', 'environment'],
    ['strategies', 'customStrategies'],
    ['headers', 'customHeaders'],
    ['namePrefx', 'namePrefix'],
    ['tag', 'tags'],
    ['uri', 'url'],
    ['URL', 'url'],
    ['timeOut', 'timeout'],
    ['timout', 'timeout'],
    ['customStrategy', 'customStrategies'],
    ['fallbackFunc', 'fallbackFunction'],
    ['fallBackFunction', 'fallbackFunction'],
    ['eventCallBack', 'eventCallback'],
    ['customHeadersFunc', 'customHeadersFunction'],
    ['ofline', 'offline'],
    ['caches', 'cache'],
    ['flagsource', 'flagSource'],
    ['schedular', undefined], // internal options are never suggested
    ['storageProvider', undefined],
    ['bootstrap', undefined],
    ['metricsJitter', undefined],
    ['agent', undefined],
    ['proxy', undefined],
    ['token', undefined],
    ['x', undefined],
  ])('%s → %s', (key, expected) => {
    expect(closestOption(key)).toBe(expected);
    const { warnings } = resolveConfig({ ...base, [key]: 1 } as UnleashConfig);
    expect(warnings).toEqual([`unknown option "${key}" is ignored${expected === undefined ? '' : `; did you mean "${expected}"?`}`]);
  });

  test('known options, the internal scheduler included, are never reported', () => {
    const options = { ...base, instanceId: 'i', environment: 'e', refreshInterval: 0, timeout: 500, offline: false, scheduler: undefined };
    expect(unknownOptionWarnings(options)).toEqual([]);
  });

  test('a flood of unknown keys is reported as ten and a count', () => {
    const flood = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`ENV_VAR_${i}`, 'x']));
    const warnings = unknownOptionWarnings({ ...base, ...flood });
    expect(warnings).toHaveLength(11);
    expect(warnings.at(-1)).toBe('15 more unknown options are ignored');
  });

  test('a long key is cut in the message', () => {
    const [warning] = unknownOptionWarnings({ ['k'.repeat(500)]: 1 });
    expect(warning!.length).toBeLessThan(120);
  });

  test('the warning reaches the client as a config warning', async () => {
    const warnings: string[] = [];
    const client = new UnleashClient({ ...base, cache: new MemoryCache(), refreshIntervall: 5000 } as UnleashConfig);
    client.on('warning', (event) => warnings.push(`${event.origin}: ${event.message}`));
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toEqual(['config: unknown option "refreshIntervall" is ignored; did you mean "refreshInterval"?']);
    await client.destroy();
  });

  test.each([
    ['', '', 0],
    ['abc', 'abc', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['ab', 'ba', 1],
    ['refreshInterval', 'refreshIntervall', 1],
    ['ca', 'abc', 3],
  ])('editDistance(%p, %p) = %p', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});
