import { defineConfig } from 'tsup';

export default defineConfig({
  // cli: the `switchyard` executable (its shebang is kept and the file made executable).
  entry: { index: 'lib/index.ts', engine: 'lib/engine/index.ts', openfeature: 'lib/openfeature.ts', opentelemetry: 'lib/opentelemetry.ts', cli: 'lib/cli-main.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
});
