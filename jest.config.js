/**
 * Jest runs TypeScript as native ESM (node --experimental-vm-modules), transformed by SWC.
 * Two tiers: `packages` (unit + integration beside the code, real PostgreSQL / emulators where
 * needed) and `e2e` (test/: started service processes, run in band).
 */
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
  },
];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};
export default {
  globalSetup: '<rootDir>/test/global-setup.js',
  // Integration and end-to-end tests start databases, emulators and processes.
  testTimeout: 60000,
  projects: [
    {
      ...common,
      displayName: 'packages',
      testMatch: [
        '<rootDir>/packages/*/src/**/*.test.ts',
        '<rootDir>/packages/*/test/**/*.test.ts',
        '<rootDir>/services/*/src/**/*.test.ts',
        '<rootDir>/services/*/test/**/*.test.ts',
      ],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // Stops every service process a test left running (also after a failed assertion).
      setupFilesAfterEnv: ['<rootDir>/test/support/child-cleanup.setup.ts'],
    },
  ],
};
