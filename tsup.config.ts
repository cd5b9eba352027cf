import { defineConfig } from 'tsup';

export default defineConfig({
  // cli: the `switchyard` executable (its shebang is kept and the file made executable).
  entry: { index: 'lib/index.ts', engine: 'lib/engine/index.ts', openfeature: 'lib/openfeature.ts', opentelemetry: 'lib/opentelemetry.ts', redis: 'redis/index.ts', cli: 'lib/cli-main.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  esbuildPlugins: [
    {
      // switchyard-flags/redis uses the main entry's classes (BaseCache, ConfigError) rather
      // than copies of them, so that instanceof checks hold across the two entry points.
      name: 'redis-imports-the-main-entry',
      setup(build) {
        build.onResolve({ filter: /^\.\.\/lib\/index$/ }, (args) =>
          /[\\/]redis[\\/][^\\/]+$/.test(args.importer) ? { path: 'switchyard-flags', external: true } : undefined,
        );
      },
    },
  ],
});
