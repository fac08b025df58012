import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import {
  agePassword,
  createConsoleUser,
  failOnPageErrors,
  finishCreateUser,
  hydrated,
  incorrect,
  nav,
  rootPassword,
  signInAsRoot,
  signInAsUser,
  signOut,
  totp,
  userTab,
} from './helpers';

// Runs after console.spec.ts (one server, specs in file order): the account exists.
failOnPageErrors();

const bobFirst = 'Temporary-Opal-Kite-52!';
const bobPassword = 'Bob-Prefers-Quiet-Harbors-9!';

/** Saves the password policy with "Password expiration requires administrator reset" as `hard`. */
async function setHardExpiry(page: Page, hard: boolean) {
  await nav(page, 'Account settings');
  await hydrated(page);
  await page.getByLabel('Password expiration requires administrator reset').setChecked(hard);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText('The password policy is saved.')).toBeVisible();
}

/** AWS's documented "BlockMostAccessUnlessSignedInWithMFA" policy, plus reading users. */
const mfaGated = JSON.stringify(
  {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AllowViewAccountInfo', Effect: 'Allow', Action: ['iam:GetAccountPasswordPolicy', 'iam:ListVirtualMFADevices'], Resource: '*' },
      { Sid: 'AllowManageOwnVirtualMFADevice', Effect: 'Allow', Action: ['iam:CreateVirtualMFADevice'], Resource: 'arn:aws:iam::*:mfa/*' },
      {
        Sid: 'AllowManageOwnUserMFA',
        Effect: 'Allow',
        Action: ['iam:DeactivateMFADevice', 'iam:EnableMFADevice', 'iam:GetUser', 'iam:GetMFADevice', 'iam:ListMFADevices', 'iam:ResyncMFADevice'],
        Resource: 'arn:aws:iam::*:user/${aws:username}',
      },
      {
        Sid: 'DenyAllExceptListedIfNoMFA',
        Effect: 'Deny',
        NotAction: ['iam:CreateVirtualMFADevice', 'iam:EnableMFADevice', 'iam:GetUser', 'iam:GetMFADevice', 'iam:ListMFADevices', 'iam:ListVirtualMFADevices', 'iam:ResyncMFADevice', 'sts:GetSessionToken'],
        Resource: '*',
        Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
      },
      { Sid: 'ReadUsers', Effect: 'Allow', Action: ['iam:ListUsers', 'iam:GetUser'], Resource: '*' },
    ],
  },
  null,
  2,
);

test.describe.serial('sign-in security', () => {
  test('root edits the password policy, and every rule is enforced in plain words', async ({ page }) => {
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await nav(page, 'Account settings');
    await expect(page.getByRole('heading', { name: 'Password policy' })).toBeVisible();
    await hydrated(page);
    await page.getByLabel('Minimum password length').fill('12');
    await page.getByLabel('Require at least one number').check();
    await page.getByLabel(/Require at least one non-alphanumeric character/).check();
    await page.getByLabel('Allow users to change their own password').check();
    await page.getByLabel('Turn on password expiration').check();
    await page.getByLabel('Password expiration period (in days)').fill('10');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByText('The password policy is saved.')).toBeVisible();
    await expect(page.getByLabel('Minimum password length')).toHaveValue('12');

    await nav(page, 'Users');
    await page.getByRole('link', { name: 'Create user' }).first().click();
    await hydrated(page);
    await page.getByLabel('User name').fill('e2e-bob');
    await page.getByLabel(/Provide user access to the console/).check();
    await page.getByRole('radio', { name: /^Custom password/ }).check();
    const password = page.getByLabel('Custom password', { exact: true });
    await password.fill('short1');
    await finishCreateUser(page);
    // The policy's refusal brings the wizard back to the password, with what it typed.
    const alert = page.getByRole('alert');
    await expect(alert).toContainText('at least 12 characters');
    await expect(alert).toContainText('a symbol');
    await expect(page.getByLabel('User name')).toHaveValue('e2e-bob');
    await expect(password).toBeFocused();
    await expect(password).toHaveAccessibleDescription("The account's password policy refuses this password.");
    await password.fill('Password123!');
    await finishCreateUser(page);
    await expect(page.getByRole('alert')).toContainText('harder to guess');
    await password.fill(bobFirst);
    await expect(page.getByLabel(/Users must create a new password at next sign-in/)).toBeChecked();
    await finishCreateUser(page);
    await expect(page.getByText('User created successfully')).toBeVisible();
    await expect(page.getByText('The user must create a new password.')).toBeVisible();
    await page.getByRole('link', { name: 'View user' }).click();
    await expect(page).toHaveURL(/\/users\/details\/e2e-bob$/);
  });

  test('a user whose password must be reset sets a new one first, and reaches nothing before', async ({ page }) => {
    await signInAsUser(page, 'e2e-bob', bobFirst);
    await expect(page).toHaveURL(/\/signin\/change-password$/);
    await expect(page.getByRole('heading', { name: 'Set a new password' })).toBeVisible();
    await expect(page.getByText('An administrator requires you to set a new password')).toBeVisible();
    await page.goto('/users');
    await expect(page).toHaveURL(/\/signin\/change-password$/);
    await hydrated(page);

    await page.getByLabel('Old password').fill(bobFirst);
    const meter = page.getByRole('status').filter({ hasText: 'Password strength' });
    await page.getByLabel('New password', { exact: true }).fill('password');
    await expect(meter).toContainText('Password strength: Very weak');
    await page.getByLabel('New password', { exact: true }).fill(bobPassword);
    await expect(meter).toContainText('Password strength: Strong');
    await page.getByLabel('Confirm new password').fill(bobPassword);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    // The policy makes passwords expire after 10 days: the console warns within 15.
    await expect(page.getByText('Your password expires in 10 days.')).toBeVisible();
    await signOut(page);

    await signInAsUser(page, 'e2e-bob', bobPassword);
    await expect(page).toHaveURL(/\/$/);
  });

  test('repeated failures slow one user down: the page says when to try again', async ({ page }) => {
    await page.goto('/signin?account=example-corp');
    await hydrated(page);
    await page.getByLabel('IAM user name').fill('e2e-bob');
    for (let i = 0; i < 5; i++) {
      await page.getByLabel('Password').fill(`Wrong-password-${i}`);
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/sign_in'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await answer;
      await expect(page.getByRole('alert')).toContainText(incorrect);
    }
    await page.getByLabel('Password').fill(bobPassword);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/sign_in'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await answer).status()).toBe(429);
    await expect(page.getByRole('alert')).toContainText(/Try again in \d+ seconds?\./);
    await page.waitForTimeout(1_200);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/$/);
  });

  test('root enrols a virtual MFA device, then signs in with a code, which works once', async ({ page, browser }) => {
    await signInAsRoot(page);
    await expect(page.getByText('Add MFA for the root user')).toBeVisible();
    await page.getByRole('link', { name: 'Assign MFA' }).click();
    await expect(page.getByRole('heading', { name: 'My security credentials' })).toBeVisible();
    await hydrated(page);
    await page.getByText('Assign MFA device', { exact: true }).click();
    await page.getByLabel('Device name').fill('e2e-root-phone');
    await page.getByLabel('Your password, to confirm it is you').fill(rootPassword);
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByRole('img', { name: 'QR code of the virtual MFA device' })).toBeVisible();
    const secret = (await page.getByLabel('Secret key').innerText()).trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByLabel('MFA code 1').fill(totp(secret, -1));
    await page.getByLabel('MFA code 2').fill(totp(secret, 0));
    await page.getByRole('button', { name: 'Add MFA' }).click();
    await expect(page.getByText('The MFA device is assigned.')).toBeVisible();
    await expect(page.getByRole('cell', { name: 'Virtual MFA device' })).toBeVisible();
    await signOut(page);

    await signInAsRoot(page);
    await expect(page).toHaveURL(/\/signin\/mfa$/);
    await expect(page.getByRole('heading', { name: 'Multi-factor authentication' })).toBeVisible();
    await hydrated(page);
    const code = totp(secret, 1);
    await page.getByLabel('MFA code').fill(code);
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await expect(page.getByText('Add MFA for the root user')).toHaveCount(0);

    // The same code, in another browser: refused.
    const other = await browser.newContext();
    const second = await other.newPage();
    await signInAsRoot(second);
    await expect(second).toHaveURL(/\/signin\/mfa$/);
    await hydrated(second);
    await second.getByLabel('MFA code').fill(code);
    await second.getByRole('button', { name: 'Submit' }).click();
    await expect(second.getByRole('alert')).toContainText(incorrect);
    await other.close();

    // Both sessions are listed; removing the device asks for the password again.
    await nav(page, 'My security credentials');
    await hydrated(page);
    await expect(page.getByText('(this session)')).toBeVisible();
    await page.getByRole('row').filter({ hasText: 'e2e-root-phone' }).getByText('Remove', { exact: true }).click();
    await page.getByLabel('Your password, to remove this device').fill(rootPassword);
    await page.getByRole('button', { name: 'Remove device' }).click();
    await expect(page.getByText('The MFA device has been removed.')).toBeVisible();
  });

  test('an administrator registers a hardware token for a user, who signs in with its code', async ({ page }) => {
    // The RFC 6238 test seed, as a vendor's seed file lists it in hexadecimal.
    const seedHex = '3132333435363738393031323334353637383930';
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    await signInAsRoot(page);
    await nav(page, 'Users');
    await page.getByRole('link', { name: 'e2e-bob' }).click();
    await userTab(page, 'Security credentials');
    await expect(page.getByRole('heading', { name: 'Multi-factor authentication (MFA)' })).toBeVisible();
    await page.getByText('Register hardware TOTP token', { exact: true }).click();
    await page.getByLabel('Serial number').fill('GAHT-E2E-0001');
    await page.getByLabel("Seed, from the vendor's seed file").fill(seedHex);
    await page.getByLabel('Seed format').selectOption({ label: 'Hexadecimal (digits 0-9 and letters A-F)' });
    await page.getByLabel('Token code 1').fill(totp(secret, -1));
    await page.getByLabel('Token code 2').fill(totp(secret, 0));
    await page.getByLabel('Your password, to register the token').fill('not-my-password');
    await page.getByRole('button', { name: 'Register token' }).click();
    await expect(page.getByRole('alert')).toContainText('password');
    await page.getByLabel('Your password, to register the token').fill(rootPassword);
    await page.getByRole('button', { name: 'Register token' }).click();
    await expect(page.getByText('The hardware token is assigned.')).toBeVisible();
    await expect(page.getByRole('row').filter({ hasText: 'GAHT-E2E-0001' })).toContainText('Hardware TOTP token');
    await signOut(page);

    await signInAsUser(page, 'e2e-bob', bobPassword);
    await expect(page).toHaveURL(/\/signin\/mfa$/);
    await hydrated(page);
    await page.getByLabel('MFA code').fill(totp(secret, 1));
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await signOut(page);

    // The administrator removes it again, after their password.
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await page.goto('/users/details/e2e-bob?tab=security_credentials');
    await hydrated(page);
    await page.getByRole('row').filter({ hasText: 'GAHT-E2E-0001' }).getByText('Remove', { exact: true }).click();
    await page.getByLabel('Your password, to remove this device').fill(rootPassword);
    await page.getByRole('button', { name: 'Remove device' }).click();
    await expect(page.getByText('The MFA device has been removed.')).toBeVisible();
    await expect(page.getByRole('row').filter({ hasText: 'GAHT-E2E-0001' })).toHaveCount(0);
  });

  test('a session ended from another browser is signed out at its next page', async ({ page, browser }) => {
    const other = await browser.newContext();
    const elsewhere = await other.newPage();
    await signInAsRoot(elsewhere);
    await expect(elsewhere.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();

    await signInAsRoot(page);
    await nav(page, 'My security credentials');
    await hydrated(page);
    const sessions = page.getByRole('table').filter({ hasText: 'Last active' });
    // A page reached in the browser arrives with its part of the wasm: wait for the list itself.
    await expect(sessions.getByRole('row').filter({ hasText: '(this session)' })).toHaveCount(1);
    const others = sessions.getByRole('row').filter({ hasNotText: '(this session)' }).getByRole('button', { name: 'End session' });
    const count = await others.count();
    expect(count).toBeGreaterThan(0);
    for (let i = 0; i < count; i++) {
      await others.first().click();
      await expect(others).toHaveCount(count - i - 1);
    }
    await expect(page.getByText('The session has ended.')).toBeVisible();
    await elsewhere.goto('/users');
    await expect(elsewhere).toHaveURL(/\/signin\?return_to=/);
    await other.close();
  });

  test('an expired password is changed at sign-in; after a hard expiry only an administrator helps', async ({ page }) => {
    const first = 'Eve-Plants-Figs-42!';
    const second = 'Eve-Grows-Olives-73!';
    const third = 'Eve-Picks-Lemons-19!';
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await createConsoleUser(page, 'e2e-eve', first);
    await signOut(page);

    // The policy's 10 days have passed.
    agePassword('e2e-eve', 11);
    await signInAsUser(page, 'e2e-eve', first);
    await expect(page).toHaveURL(/\/signin\/change-password$/);
    await expect(page.getByText('Your password has expired. Choose a new one to continue.')).toBeVisible();
    await page.goto('/users');
    await expect(page).toHaveURL(/\/signin\/change-password$/);
    await hydrated(page);
    await page.getByLabel('Old password').fill(first);
    await page.getByLabel('New password', { exact: true }).fill(second);
    await page.getByLabel('Confirm new password').fill(second);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await expect(page.getByText('Your password expires in 10 days.')).toBeVisible();
    await signOut(page);

    // With a hard expiry, an expired password opens nothing, not even the change page.
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await setHardExpiry(page, true);
    await signOut(page);
    agePassword('e2e-eve', 11);
    await signInAsUser(page, 'e2e-eve', second);
    await expect(page.getByRole('alert')).toContainText('Your password has expired. Ask an administrator of the account to set a new one.');
    await expect(page).toHaveURL(/\/signin/);

    // An administrator sets a new one; the user signs in with it.
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await page.goto('/users/details/e2e-eve');
    await hydrated(page);
    await userTab(page, 'Security credentials');
    await page.getByText('Reset console password', { exact: true }).click();
    await page.getByLabel('New password', { exact: true }).fill(third);
    await page.getByLabel('Confirm new password').fill(third);
    await page.getByLabel('User must create a new password at next sign-in').uncheck();
    await page.getByRole('button', { name: 'Reset password' }).click();
    await expect(page.getByText('The console password is reset.')).toBeVisible();
    await setHardExpiry(page, false);
    await signOut(page);
    await signInAsUser(page, 'e2e-eve', third);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
  });

  test('a policy that requires MFA grants access only once the user signs in with MFA', async ({ page }) => {
    const password = 'Mia-Draws-Maps-of-Coves-8!';
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await createConsoleUser(page, 'e2e-mia', password);
    // The administrator gives mia AWS's documented policy, as an inline policy, in the JSON editor.
    await hydrated(page);
    await page.getByText('Create inline policy', { exact: true }).click();
    await page.getByLabel('Policy name').fill('RequireMFA');
    const editor = page.getByLabel('Policy document (JSON)');
    const problems = page.getByRole('status').filter({ hasText: 'in the policy' });
    await editor.fill('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers"}]}');
    await expect(problems).toContainText('1 error in the policy');
    await editor.fill(mfaGated);
    await expect(problems).toContainText('No errors in the policy.');
    await page.getByRole('button', { name: 'Create policy' }).click();
    await expect(page.getByText('The inline policy is saved.')).toBeVisible();
    await expect(
      page.getByRole('region', { name: 'Inline policies' }).getByRole('row').filter({ hasText: 'RequireMFA' }),
    ).toContainText('Customer inline');
    await signOut(page);

    // Without MFA: the users list is refused; setting up MFA is allowed.
    await signInAsUser(page, 'e2e-mia', password);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await nav(page, 'Users');
    await expect(page.getByRole('alert')).toContainText('AccessDenied');
    await nav(page, 'My security credentials');
    await hydrated(page);
    await page.getByText('Assign MFA device', { exact: true }).click();
    await page.getByLabel('Device name').fill('e2e-mia-phone');
    await page.getByLabel('Your password, to confirm it is you').fill(password);
    await page.getByRole('button', { name: 'Next' }).click();
    const secret = (await page.getByLabel('Secret key').innerText()).trim();
    await page.getByLabel('MFA code 1').fill(totp(secret, -1));
    await page.getByLabel('MFA code 2').fill(totp(secret, 0));
    await page.getByRole('button', { name: 'Add MFA' }).click();
    await expect(page.getByText('The MFA device is assigned.')).toBeVisible();
    await signOut(page);

    // With MFA: the normal access.
    await signInAsUser(page, 'e2e-mia', password);
    await expect(page).toHaveURL(/\/signin\/mfa$/);
    await hydrated(page);
    await page.getByLabel('MFA code').fill(totp(secret, 1));
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await nav(page, 'Users');
    await expect(page.getByRole('link', { name: 'e2e-mia' })).toBeVisible();
    await expect(page.getByRole('alert')).toHaveCount(0);
  });

  test("a user's page hydrates with every panel full, load after load", async ({ page }) => {
    // e2e-mia has an inline policy, a console password, an MFA device and a session. A resource
    // made inside a suspended view once killed this page's wasm now and then, depending on when
    // the streamed data arrived: load it several times; any page error fails the test.
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    for (let i = 0; i < 5; i++) {
      // Its security credentials: the tab asked for, or the one a change comes back to.
      await page.goto(i % 2 ? '/users/details/e2e-mia?tab=security_credentials' : `/users/details/e2e-mia?done=sessions&at=${i}`);
      await hydrated(page);
      await expect(page.getByRole('row').filter({ hasText: 'e2e-mia-phone' })).toBeVisible();
      await expect(page.getByText('Reset console password', { exact: true })).toBeVisible();
      await page.goto(i % 2 ? '/users/details/e2e-mia' : `/users/details/e2e-mia?done=policy-saved&at=${i}`);
      await hydrated(page);
      await expect(
        page.getByRole('region', { name: 'Inline policies' }).getByRole('row').filter({ hasText: 'RequireMFA' }),
      ).toBeVisible();
      await expect(
        page.getByRole('table', { name: 'Permissions policies' }).getByRole('row').filter({ hasText: 'RequireMFA' }),
      ).toContainText('Directly');
      await expect(page.getByRole('region', { name: 'Access keys' })).toHaveCount(0);
    }
    // Interactive: the editor checks as one types.
    await page.getByRole('row').filter({ hasText: 'RequireMFA' }).getByText('Edit', { exact: true }).click();
    const editor = page.getByLabel('Policy document of RequireMFA');
    await editor.fill('{');
    await expect(page.getByRole('status').filter({ hasText: 'in the policy' })).toContainText('not valid JSON');
  });

  test("an administrator creates a user's access key, downloads it once, deactivates and deletes it", async ({ page }) => {
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await page.goto('/users/details/e2e-mia');
    await hydrated(page);
    await userTab(page, 'Security credentials');
    await page.getByText('Create access key', { exact: true }).click();
    await page.getByLabel('Description tag value (optional)').fill('e2e laptop');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect(page.getByText('This is the only time the secret access key can be viewed')).toBeVisible();
    const id = (await page.getByLabel('Access key ID', { exact: true }).innerText()).trim();
    const secret = (await page.getByLabel('Secret access key').innerText()).trim();
    expect(id).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(secret).toHaveLength(40);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download .csv file' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('e2e-mia_accessKeys.csv');
    expect(readFileSync(await file.path(), 'utf8')).toBe(`Access key ID,Secret access key\n${id},${secret}\n`);
    // A browser that cannot make the file (here: one that refuses object URLs) says so beside the
    // button, so that no one leaves believing the secret saved.
    await page.evaluate(() => {
      URL.createObjectURL = () => {
        throw new Error('object URLs are blocked');
      };
    });
    await page.getByRole('button', { name: 'Download .csv file' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'The .csv file could not be made (object URLs are blocked)' })).toBeVisible();
    // The key's row in the access keys table (its description is also a user tag, listed under Tags).
    const keys = page.getByRole('table').filter({ hasText: 'Access key ID' });
    const row = keys.getByRole('row').filter({ hasText: id });
    await expect(row).toContainText('e2e laptop');
    await expect(row).toContainText('Never');

    await row.getByRole('button', { name: `Deactivate ${id}` }).click();
    await expect(page.getByText('The access key is inactive')).toBeVisible();
    await expect(row).toContainText('Inactive');
    await row.getByText('Delete', { exact: true }).click();
    await row.getByLabel('To confirm deletion, enter the access key ID.').fill(id);
    await row.getByRole('button', { name: 'Delete access key' }).click();
    await expect(page.getByText('The access key is deleted.')).toBeVisible();
    await expect(page.getByRole('row').filter({ hasText: id })).toHaveCount(0);
  });
});
