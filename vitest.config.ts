import { defineConfig } from 'vitest/config';

// One project per package; each resolves sibling packages to their TypeScript sources ("source" condition).
const pkg = (name: string, extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, root: `./${name}`, include: ['src/**/*.test.ts'], ...extra },
});

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      pkg('protocol'),
      pkg('simulators'),
      pkg('edge'),
      pkg('cloud'),
      pkg('tests', { testTimeout: 120_000, hookTimeout: 120_000 }),
    ],
  },
});
