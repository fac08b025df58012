import { defineConfig } from '@playwright/test';

// The server is started by scripts/e2e.sh, which passes its address and one-time setup link.
const baseURL = process.env.PORTCULLIS_BASE_URL;
if (!baseURL) {
  throw new Error('PORTCULLIS_BASE_URL is not set: run the suite through scripts/e2e.sh');
}

export default defineConfig({
  testDir: './tests',
  // One server, one first-run: the specs run in order, one at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'off',
    launchOptions: {
      // Debian's Chromium: Playwright's own browser download cannot work on these machines.
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});
