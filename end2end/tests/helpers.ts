import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';

export const setupLink = process.env.PORTCULLIS_SETUP_LINK ?? '';
export const rootEmail = 'root@example.com';
export const rootPassword = 'Root-password-1';
export const incorrect = 'Your authentication information is incorrect. Please try again.';

/** Waits until the page is hydrated: a click before that can be lost while the app takes over. */
export async function hydrated(page: Page) {
  await page.locator('body[data-hydrated]').waitFor();
}

export async function signInAsRoot(page: Page, password = rootPassword) {
  await page.goto('/signin');
  await hydrated(page);
  await page.getByLabel('Root user', { exact: false }).first().check();
  await page.getByLabel('Root user email address').fill(rootEmail);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function signInAsUser(page: Page, userName: string, password: string, account = 'example-corp') {
  await page.goto(`/signin?account=${account}`);
  await hydrated(page);
  await page.getByLabel('IAM user name').fill(userName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function signOut(page: Page) {
  await page.getByTestId('identity').click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/signin$/);
}

/** Follows a link of the console's left navigation. */
export async function nav(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Identity and Access Management' }).getByRole('link', { name }).click();
}

/** Root (signed in) creates a user with a console password that need not be reset. */
export async function createConsoleUser(page: Page, userName: string, password: string) {
  await nav(page, 'Users');
  await page.getByRole('link', { name: 'Create user' }).first().click();
  await hydrated(page);
  await page.getByLabel('User name').fill(userName);
  await page.getByLabel(/Provide user access to the console/).check();
  await page.getByRole('radio', { name: /^Custom password/ }).check();
  await page.getByLabel('Custom password', { exact: true }).fill(password);
  await page.getByLabel(/Users must create a new password at next sign-in/).uncheck();
  await finishCreateUser(page);
  await page.getByRole('link', { name: 'View user' }).click();
  await expect(page).toHaveURL(new RegExp(`/users/details/${userName}$`));
}

/** Opens one of the user page's tabs ("Permissions", "Groups", "Tags", "Security credentials"). */
export async function userTab(page: Page, name: string) {
  const tab = page.getByRole('navigation', { name: 'User sections' }).getByRole('link', { name, exact: true });
  await tab.click();
  await expect(tab).toHaveAttribute('aria-current', 'page');
  await hydrated(page);
}

/** From step 1 of the create-user wizard: on through its steps, then "Create user". */
export async function finishCreateUser(page: Page) {
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { name: 'Set permissions' })).toBeVisible();
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { name: 'Review and create' })).toBeVisible();
  await page.getByRole('button', { name: 'Create user' }).click();
}

/** Moves the time `userName`'s password was set `days` back, in the server's database (a SQLite
 *  file or a PostgreSQL URL, from scripts/e2e.sh), as if it had been set that long ago: the server
 *  has no test clock. The user name is the suite's own, never typed by a person. */
export function agePassword(userName: string, days: number) {
  const database = process.env.PORTCULLIS_E2E_DATABASE ?? '';
  if (!/^[\w+=,.@-]+$/.test(userName) || !Number.isInteger(days)) throw new Error('agePassword: bad arguments');
  const update =
    `UPDATE login_profiles SET password_changed_at = password_changed_at - ${days * 86_400_000} ` +
    `WHERE user_id IN (SELECT user_id FROM users WHERE user_name = '${userName}')`;
  let changed: string;
  if (database.startsWith('postgres')) {
    const sql = `WITH aged AS (${update} RETURNING 1) SELECT count(*) FROM aged`;
    changed = execFileSync('psql', [database, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { encoding: 'utf8' });
  } else if (database) {
    changed = execFileSync('sqlite3', ['-cmd', '.timeout 10000', database, `${update}; SELECT changes();`], { encoding: 'utf8' });
  } else {
    throw new Error('PORTCULLIS_E2E_DATABASE is not set: run the suite through scripts/e2e.sh');
  }
  if (changed.trim() !== '1') throw new Error(`agePassword: ${changed.trim()} login profiles changed for ${userName}, not 1`);
}

/** RFC 4648 base32, as authenticator apps read a secret key. */
function base32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code an authenticator app shows for `secret`, `steps` 30-second steps from now (RFC 6238). */
export function totp(secret: string, steps = 0): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + steps));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, '0');
}

/** Every uncaught error in a page fails its test: a wasm that cannot start (a bad wasm-opt once made
 *  the release console die at `WebAssembly.Table.set()`) shows here first. */
export function failOnPageErrors() {
  const pageErrors = new WeakMap<Page, string[]>();
  // The console's errors say what a wasm panic was (the page error itself says only `unreachable`);
  // they do not fail a test alone: a refused request is logged there too.
  const consoleErrors = new WeakMap<Page, string[]>();
  test.beforeEach(async ({ page }) => {
    const errors: string[] = [];
    const logged: string[] = [];
    pageErrors.set(page, errors);
    consoleErrors.set(page, logged);
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') logged.push(message.text());
    });
  });
  test.afterEach(async ({ page }) => {
    const logged = (consoleErrors.get(page) ?? []).join('\n');
    const errors = pageErrors.get(page) ?? [];
    expect(errors, `uncaught errors in the page; the console said:\n${logged}`).toEqual([]);
  });
}
