import { expect, test } from '@playwright/test';
import { failOnPageErrors, hydrated, incorrect, rootEmail, rootPassword, setupLink, signInAsRoot, userTab } from './helpers';

failOnPageErrors();

test.describe.serial('the console', () => {
  test('the console hydrates: the wasm starts and takes over the page', async ({ page }) => {
    const wasm = page.waitForResponse((r) => r.url().endsWith('.wasm'));
    await page.goto('/signin');
    await hydrated(page);
    // Served precompressed (brotli or gzip), never as the raw wasm.
    const encoding = (await (await wasm).allHeaders())['content-encoding'];
    expect(['br', 'gzip']).toContain(encoding);
    // The root/IAM user switch is wasm-driven: it only reacts once hydration is done.
    await page.getByLabel('IAM user', { exact: false }).first().check();
    await expect(page.getByLabel('IAM user name')).toBeVisible();
    await expect(page.getByLabel('Root user email address')).toBeHidden();
  });

  test('a forged setup link is refused', async ({ page }) => {
    await page.goto('/setup?token=forged');
    await expect(page.getByText('This setup link is no longer valid.')).toBeVisible();
  });

  test('first-run setup creates the account', async ({ page }) => {
    expect(setupLink, 'the server printed a setup link').toContain('/setup?token=');
    await page.goto(setupLink);
    await expect(page).toHaveTitle('Set up Portcullis | IAM | Portcullis');
    await page.getByLabel('Account alias').fill('example-corp');
    await page.getByLabel('Root user email address').fill(rootEmail);
    await page.getByLabel('Root user password').fill(rootPassword);
    await page.getByLabel('Confirm password').fill(rootPassword);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page).toHaveURL(/\/signin\?setup=done$/);
    await expect(page.getByText('Your account is ready.')).toBeVisible();
  });

  test('a used setup link no longer works', async ({ page }) => {
    await page.goto(setupLink);
    await expect(page.getByText('This setup link is no longer valid.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Create account' })).toHaveCount(0);
  });

  test('sign-in starts with a choice made: root, or IAM user for an account link', async ({ page }) => {
    await page.goto('/signin');
    await expect(page.getByRole('radio', { name: /Root user/ })).toBeChecked();
    await expect(page.getByLabel('Root user email address')).toBeVisible();
    await page.goto('/signin?account=example-corp');
    await expect(page.getByRole('radio', { name: /IAM user/ })).toBeChecked();
    await expect(page.getByLabel('Account ID (12 digits) or account alias')).toHaveValue('example-corp');
    await expect(page.getByLabel('Root user email address')).toBeHidden();
  });

  test('a wrong password and an unknown user get the same error', async ({ page }) => {
    await signInAsRoot(page, 'Wrong-password-1');
    const alert = page.getByRole('alert');
    await expect(alert).toContainText(incorrect);
    const wrongPassword = await alert.innerText();

    await page.goto('/signin');
    await page.getByLabel('IAM user', { exact: false }).first().check();
    await page.getByLabel('Account ID (12 digits) or account alias').fill('example-corp');
    await page.getByLabel('IAM user name').fill('nobody');
    await page.getByLabel('Password').fill(rootPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toContainText(incorrect);
    expect(await page.getByRole('alert').innerText()).toBe(wrongPassword);
    await expect(page).toHaveURL(/\/signin/);

    await page.goto('/signin?account=no-such-corp');
    await hydrated(page);
    await page.getByLabel('IAM user name').fill('alice');
    await page.getByLabel('Password').fill(rootPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toContainText(incorrect);
    expect(await page.getByRole('alert').innerText(), 'an unknown account reads the same').toBe(wrongPassword);
  });

  test('root creates a user, finds it, opens it, deletes it and signs out', async ({ page }) => {
    await signInAsRoot(page);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await expect(page.getByTestId('account-id')).toHaveText(/^\d{12}$/);
    await expect(page.getByTestId('identity')).toHaveText(`${rootEmail} (root) @ example-corp`);

    await page.getByRole('navigation', { name: 'Identity and Access Management' }).getByRole('link', { name: 'Users' }).click();
    await expect(page).toHaveTitle('Users | IAM | Portcullis');
    await page.getByRole('link', { name: 'Create user' }).first().click();
    await expect(page).toHaveURL(/\/users\/create$/);

    await hydrated(page);

    // A bad name is refused with AWS's rule before the next step, shown in the page.
    await page.getByLabel('User name').fill('no spaces allowed');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByLabel('User name')).toBeFocused();
    await expect(page.getByLabel('User name')).toHaveAccessibleDescription(
      /^Enter a user name of up to 64 characters\. Valid characters: A-Z, a-z, 0-9, and \+ = , \. @ _ - \(hyphen\)\./,
    );
    await expect(page.getByLabel('User name')).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByRole('heading', { name: 'Set permissions' })).toBeHidden();

    await page.getByLabel('User name').fill('e2e-alice');
    await page.getByLabel('Path').fill('/engineering/');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByRole('heading', { name: 'Review and create' })).toBeVisible();
    const review = page.getByRole('region', { name: 'Review and create' });
    await expect(review.getByRole('definition').first()).toHaveText('e2e-alice');
    await expect(review).toContainText('No permissions: the user can do nothing until it is given some.');
    await page.getByPlaceholder('Key').first().fill('team');
    await page.getByPlaceholder('Value').first().fill('platform');
    await page.getByRole('button', { name: 'Create user' }).click();
    await expect(page.getByText('User created successfully')).toBeVisible();
    await expect(page.getByText('The user has no console password.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Copy sign-in URL' })).toBeVisible();
    await page.getByRole('link', { name: 'View user' }).click();
    await expect(page).toHaveURL(/\/users\/details\/e2e-alice$/);
    await expect(page.getByTestId('user-arn')).toHaveText(/^arn:aws:iam::\d{12}:user\/engineering\/e2e-alice$/);
    await userTab(page, 'Tags');
    await expect(page.getByRole('cell', { name: 'platform' })).toBeVisible();

    await page.getByRole('link', { name: 'Users' }).first().click();
    await page.getByLabel('Filter users by name').fill('ALICE');
    await page.getByRole('button', { name: 'Search' }).click();
    // The search is a page load: wait for it, or the click below may land on the old page.
    await expect(page).toHaveURL(/\/users\?filter=ALICE$/);
    await hydrated(page);
    await expect(page.getByRole('link', { name: 'e2e-alice' })).toBeVisible();
    await page.getByRole('link', { name: 'e2e-alice' }).click();
    await expect(page.getByRole('heading', { name: 'e2e-alice' })).toBeVisible();

    await page.getByLabel('To confirm deletion, enter the user name.').fill('e2e-alice');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page).toHaveURL(/\/users\?deleted=e2e-alice&done=users-deleted/);
    await expect(page.getByText('User deleted: e2e-alice.')).toBeVisible();
    await expect(page.getByRole('link', { name: 'e2e-alice' })).toHaveCount(0);
    await expect(page.getByText('No users yet.')).toBeVisible();

    await page.getByTestId('identity').click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expect(page).toHaveURL(/\/signin$/);
    await page.goto('/users');
    await expect(page).toHaveURL(/\/signin\?return_to=/);
  });

  test('the console fits a phone-sized screen', async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    const nav = page.getByRole('navigation', { name: 'Identity and Access Management' });
    await expect(nav).not.toBeInViewport();
    await page.getByRole('button', { name: 'Toggle navigation' }).click();
    await expect(nav).toBeInViewport();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
  });

  test('root changes the account alias; the sign-in URL follows and copies', async ({ page, context, baseURL }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await expect(page.getByRole('link', { name: `${baseURL}/signin?account=example-corp` })).toBeVisible();

    await page.getByRole('navigation', { name: 'Identity and Access Management' }).getByRole('link', { name: 'Account settings' }).click();
    await expect(page.getByRole('heading', { name: 'Account alias' })).toBeVisible();
    await hydrated(page);
    await page.getByLabel('Preferred alias').fill('e2e-renamed-corp');
    await page.getByRole('button', { name: 'Change alias' }).click();
    await expect(page.getByText('The account alias is saved.')).toBeVisible();
    const url = `${baseURL}/signin?account=e2e-renamed-corp`;
    await expect(page.getByRole('link', { name: url })).toBeVisible();
    await hydrated(page);
    await page.getByRole('button', { name: 'Copy sign-in URL' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Copied' })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);

    // Deleted, IAM users sign in with the account id; then the alias the other specs use again.
    await page.getByRole('button', { name: 'Delete alias' }).click();
    await expect(page.getByText('The account alias is deleted.')).toBeVisible();
    await expect(page.getByRole('link', { name: /\/signin\?account=\d{12}$/ })).toBeVisible();
    await page.getByLabel('Preferred alias').fill('example-corp');
    await page.getByRole('button', { name: 'Create alias' }).click();
    await expect(page.getByText('The account alias is saved.')).toBeVisible();
    await expect(page.getByRole('link', { name: `${baseURL}/signin?account=example-corp` })).toBeVisible();
  });
});
