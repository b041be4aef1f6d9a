// Tests run from TypeScript sources through swc (fast, no type check: `npm run build`
// type-checks first). Native ESM, so `import.meta` works the same in tests and in dist/.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/daemon', '<rootDir>/helper', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    }],
  },
  testTimeout: 120000,
  reporters: ['default', ['<rootDir>/test/count-reporter.cjs', {}]],
};
