import { expect, test } from '@playwright/test';
import { createConsoleUser, failOnPageErrors, hydrated, nav, signInAsRoot, signOut } from './helpers';

// Runs after console.spec.ts (one server, specs in file order): the account exists.
failOnPageErrors();

const readers = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['iam:ListUsers', 'iam:GetUser', 's3:GetObject'], Resource: '*' }],
});
const writers = readers.replace('s3:GetObject', 's3:PutObject');

test.describe.serial('policies', () => {
  test('a customer managed policy: written with live checks and summary, versioned, compared, attached, deleted', async ({
    page,
  }) => {
    test.setTimeout(120_000);
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await createConsoleUser(page, 'e2e-policy-user', 'Policy-User-Password-7!');

    // The list filters by type: AWS's job-function policies.
    await nav(page, 'Policies');
    await expect(page.getByRole('heading', { name: 'Policies', level: 1 })).toBeVisible();
    await page.getByLabel('Type').selectOption('AWS managed - job function');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect(page).toHaveURL(/type=job/);
    const viewOnly = page.getByRole('row').filter({ hasText: 'ViewOnlyAccess' });
    await expect(viewOnly).toContainText('AWS managed - job function');
    // AWS's console counts AdministratorAccess among the job functions, though not under /job-function/.
    await expect(page.getByRole('row').filter({ hasText: 'AdministratorAccess' })).toContainText('job function');
    await expect(page.getByRole('link', { name: 'IAMReadOnlyAccess' })).toHaveCount(0);

    // Create: the editor checks as one types, in the browser; the summary follows the text.
    await page.getByRole('link', { name: 'Create policy' }).first().click();
    await hydrated(page);
    const editor = page.getByLabel('Policy editor (JSON)');
    await editor.fill('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}');
    await expect(page.getByRole('status').filter({ hasText: 'in the policy' })).toContainText('1 error in the policy');
    await expect(editor).toHaveAttribute('aria-invalid', 'true');
    await editor.fill(readers);
    await expect(page.getByText('No errors in the policy.')).toBeVisible();
    const summary = page.getByRole('region', { name: 'Permissions defined in this policy' });
    await expect(summary.getByRole('row').filter({ hasText: 'Amazon S3' })).toContainText('Limited: Read');
    await expect(summary.getByRole('row').filter({ hasText: 'Identity and Access Management' })).toContainText(
      'Limited: List, Read',
    );
    await page.getByLabel('Policy name').fill('e2e-readers');
    await page.getByLabel(/^Description/).fill('Reads users and objects');
    await page.getByRole('button', { name: 'Create policy' }).click();
    await expect(page).toHaveURL(/\/policies\/details\/arn:aws:iam::\d{12}:policy%2Fe2e-readers\?done=policy-created/);
    await expect(page.getByText('The policy is created.')).toBeVisible();
    await expect(page.getByText('Customer managed')).toBeVisible();
    await expect(page.getByRole('table', { name: /^Allow \(2 of \d+ services\)/ })).toBeVisible();

    // Edit: a new version, the default one.
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await hydrated(page);
    await page.getByLabel('Policy editor (JSON)').fill(writers);
    await expect(page.getByText('No errors in the policy.')).toBeVisible();
    await expect(page.getByRole('row').filter({ hasText: 'Amazon S3' })).toContainText('Limited: Write');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByText(/A new version is saved and is the default/)).toBeVisible();
    await expect(page.getByRole('row').filter({ hasText: 'v2 (default)' })).toBeVisible();

    // Compare the two versions side by side; the comparison has its own address.
    await page.getByLabel('Version', { exact: true }).selectOption('v1');
    await page.getByLabel('with version').selectOption('v2 (default)');
    await page.getByRole('button', { name: 'Compare' }).click();
    await expect(page).toHaveURL(/tab=versions&compare=v1&with=v2/);
    await expect(page.getByText('1 line differs between v1 and v2.')).toBeVisible();
    const diff = page.getByRole('table', { name: 'v1 compared with v2' });
    await expect(diff.getByRole('row').filter({ hasText: 'Changed:' })).toContainText('s3:GetObject');
    await expect(diff.getByRole('row').filter({ hasText: 'Changed:' })).toContainText('s3:PutObject');

    // Back to v1 as the default.
    await hydrated(page);
    await page.getByRole('button', { name: 'Set v1 as default' }).click();
    await expect(page.getByText('The default version is changed.')).toBeVisible();
    await expect(page.getByRole('row').filter({ hasText: 'v1 (default)' })).toBeVisible();

    // Attach to a user from the policy's page; detach.
    await page.getByRole('link', { name: 'Entities attached' }).click();
    await page.getByRole('link', { name: 'Attach', exact: true }).click();
    await hydrated(page);
    await page.getByLabel('Find users by name').fill('e2e-policy-user');
    await page.getByRole('checkbox', { name: 'e2e-policy-user' }).check();
    await page.getByRole('button', { name: 'Attach policy' }).click();
    await expect(page.getByText('The policy is attached.')).toBeVisible();
    const attached = page.getByRole('table', { name: 'Entities attached' });
    await expect(attached.getByRole('row').filter({ hasText: 'e2e-policy-user' })).toContainText('Permissions policy');
    await hydrated(page);
    await page.getByRole('checkbox', { name: 'Select user e2e-policy-user' }).check();
    await page.getByRole('button', { name: 'Detach selected' }).click();
    await expect(page.getByText('The policy is detached.')).toBeVisible();
    await expect(page.getByText('No user, group or role has this policy attached')).toBeVisible();

    // Delete after typing the name.
    await page.getByRole('link', { name: 'Permissions', exact: true }).click();
    await hydrated(page);
    await page.getByLabel('To confirm deletion, enter the policy name.').fill('e2e-readers');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page).toHaveURL(/\/policies\?deleted=e2e-readers&done=policies-deleted/);
    await expect(page.getByText('Policy deleted: e2e-readers.')).toBeVisible();
    await signOut(page);
  });

  test('the visual editor and the JSON editor edit one document', async ({ page }) => {
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await nav(page, 'Policies');
    await page.getByRole('link', { name: 'Create policy' }).first().click();
    await hydrated(page);
    await page.getByRole('button', { name: 'Visual' }).click();
    const block = page.getByRole('group', { name: 'Permission block 1' });
    await block.getByLabel('Service').selectOption({ label: 'Amazon S3 (s3)' });
    // Actions grouped by access level, as AWS's console offers them.
    await block.getByText(/^Read \(0 of \d+ chosen\)/).click();
    await block.getByRole('checkbox', { name: 'GetObject', exact: true }).check();
    await expect(block.getByText(/^Read \(1 of \d+ chosen\)/)).toBeVisible();
    await block.getByRole('radio', { name: 'All resources' }).check();
    await block.getByLabel('Condition key').fill('aws:SecureTransport');
    await block.getByLabel('Operator').selectOption('Bool');
    await block.getByLabel('Values, separated by commas').fill('true');
    await block.getByRole('button', { name: 'Add condition' }).click();
    await expect(block.getByText('aws:SecureTransport | Bool | true')).toBeVisible();
    // The JSON editor's findings, below the visual editor (the JSON editor's own are hidden).
    await expect(page.getByText('No errors in the policy.').filter({ visible: true })).toBeVisible();
    // The summary follows the visual editor too.
    const summary = page.getByRole('region', { name: 'Permissions defined in this policy' });
    await expect(summary.getByRole('row').filter({ hasText: 'Amazon S3' })).toContainText('aws:SecureTransport | Bool | true');

    // The same document in the JSON editor; a change there shows in the visual editor.
    await page.getByRole('button', { name: 'JSON' }).click();
    const editor = page.getByLabel('Policy editor (JSON)');
    await expect(editor).toHaveValue(/"Action": "s3:GetObject"/);
    await expect(editor).toHaveValue(/"aws:SecureTransport": "true"/);
    const json = await editor.inputValue();
    await editor.fill(json.replace('"s3:GetObject"', '["s3:GetObject", "s3:ListBucket"]'));
    await page.getByRole('button', { name: 'Visual' }).click();
    await block.getByText(/^List \(/).click();
    await expect(block.getByRole('checkbox', { name: 'ListBucket', exact: true })).toBeChecked();

    // What blocks cannot say is left to the JSON editor, which says why.
    await page.getByRole('button', { name: 'JSON' }).click();
    await editor.fill('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}');
    await page.getByRole('button', { name: 'Visual' }).click();
    await expect(page.getByText('The visual editor cannot show this policy')).toBeVisible();
    await expect(page.getByText(/does not edit `NotAction`/)).toBeVisible();
    await signOut(page);
  });
});
