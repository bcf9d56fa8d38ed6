/** Unit specs sit next to the code; e2e specs live in test/e2e and spawn their own nats-server. */
const moduleNameMapper = {
  '^@app/(core|relay|history|channels|ws|client|protocol|testing)$': '<rootDir>/libs/$1/src',
};
const transform = { '^.+\\.ts$': ['ts-jest', {}] };
const shared = { rootDir: __dirname, testEnvironment: 'node', moduleFileExtensions: ['js', 'json', 'ts'], moduleNameMapper, transform };

module.exports = {
  testTimeout: 60000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{src,libs}/**/*.spec.ts'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
  ],
};
