import { expect, test, type Page } from '@playwright/test';
import { failOnPageErrors, hydrated, nav, signInAsRoot, signOut } from './helpers';

// Runs after console.spec.ts (one server, specs in file order): the account exists.
failOnPageErrors();

async function startRole(page: Page) {
  await nav(page, 'Roles');
  await expect(page.getByRole('heading', { name: 'Roles', level: 1 })).toBeVisible();
  await page.getByRole('link', { name: 'Create role' }).first().click();
  await hydrated(page);
}

test.describe.serial('roles', () => {
  test('a role for a service: created with a policy, its trust policy edited live, tagged and deleted', async ({ page }) => {
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await startRole(page);
    await page.getByRole('radio', { name: /^AWS service/ }).check();
    await page.getByLabel('Service or use case').selectOption('lambda.amazonaws.com');
    // The review shows the trust policy that will be made, as it is chosen.
    const review = page.getByRole('region', { name: 'Review: trust policy' });
    await expect(review).toContainText('"Service": "lambda.amazonaws.com"');
    await page.getByLabel('Find policies by name').fill('IAMReadOnly');
    await page.getByRole('checkbox', { name: 'IAMReadOnlyAccess' }).check();
    await page.getByLabel('Role name').fill('e2e-lambda');
    await page.getByLabel(/^Description/).fill('Reads IAM for reports');
    await page.getByLabel('Maximum session duration').selectOption('2 hours');
    await page.getByRole('textbox', { name: 'Tag key' }).fill('team');
    await page.getByRole('textbox', { name: 'Tag value' }).fill('reports');
    await page.getByRole('button', { name: 'Create role' }).click();

    await expect(page).toHaveURL(/\/roles\/details\/e2e-lambda\?done=role-created/);
    await expect(page.getByText('The role is created.')).toBeVisible();
    await expect(page.getByText('AWS service: lambda').first()).toBeVisible();
    await expect(page.getByText('2 hours', { exact: true }).first()).toBeVisible();
    await expect(page.getByRole('row').filter({ hasText: 'IAMReadOnlyAccess' })).toContainText('AWS managed');
    await expect(page.getByRole('row').filter({ hasText: 'reports' })).toContainText('team');

    // The trust policy editor checks as one types, in the browser, with the server's rules.
    await hydrated(page);
    const panel = page.getByRole('region', { name: 'Trust relationships' });
    const trust = panel.getByLabel('Trust policy (JSON)');
    await trust.fill('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}');
    await expect(panel.getByRole('status')).toContainText('1 error in the policy');
    await expect(trust).toHaveAttribute('aria-invalid', 'true');
    await trust.fill(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    );
    await expect(panel.getByRole('status')).toContainText('No errors in the policy.');
    await page.getByRole('button', { name: 'Update trust policy' }).click();
    await expect(page.getByText('The trust policy is saved.')).toBeVisible();
    await expect(page.getByText('AWS service: ec2').first()).toBeVisible();

    // Tags: add one, remove another.
    await hydrated(page);
    await page.getByLabel('Tag key').fill('env');
    await page.getByLabel(/^Tag value/).fill('prod');
    await page.getByRole('button', { name: 'Add tag' }).click();
    await expect(page.getByText('The tags are saved.')).toBeVisible();
    await page.getByRole('checkbox', { name: 'Select team' }).check();
    await page.getByRole('button', { name: 'Remove selected tags' }).click();
    await expect(page.getByText('The tags are removed.')).toBeVisible();
    const tags = page.getByRole('table', { name: 'Tags' });
    await expect(tags.getByRole('row').filter({ hasText: 'prod' })).toBeVisible();
    await expect(tags.getByRole('row').filter({ hasText: 'reports' })).toHaveCount(0);

    // Deleting asks for the name and takes the role's policies with it.
    await hydrated(page);
    await page.getByLabel('To confirm deletion, enter the role name.').fill('e2e-lambda');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page).toHaveURL(/\/roles\?deleted=e2e-lambda&done=roles-deleted/);
    await expect(page.getByText('Role deleted: e2e-lambda.')).toBeVisible();
    await expect(page.getByRole('link', { name: 'e2e-lambda' })).toHaveCount(0);
    await signOut(page);
  });

  test('a role for another account requires an external ID and MFA; roles are deleted in bulk', async ({ page }) => {
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await startRole(page);
    await page.getByRole('radio', { name: /^AWS account/ }).check();
    await page.getByRole('radio', { name: 'Another AWS account' }).check();
    await page.getByLabel(/^Account ID/).fill('444455556666');
    await page.getByLabel(/Require external ID/).check();
    await page.getByLabel('External ID', { exact: true }).fill('partner-7');
    await page.getByLabel(/Require MFA/).check();
    const review = page.getByRole('region', { name: 'Review: trust policy' });
    await expect(review).toContainText('"AWS": "arn:aws:iam::444455556666:root"');
    await expect(review).toContainText('"sts:ExternalId": "partner-7"');
    await expect(review).toContainText('"aws:MultiFactorAuthPresent": "true"');
    await page.getByLabel('Role name').fill('e2e-partner');
    await page.getByRole('button', { name: 'Create role' }).click();
    await expect(page.getByText('The role is created.')).toBeVisible();
    await expect(page.getByText('Account: 444455556666').first()).toBeVisible();

    // A mistake in the form is said in a red bar, and what was typed stays.
    await startRole(page);
    await page.getByRole('radio', { name: /^AWS account/ }).check();
    await page.getByRole('radio', { name: 'Another AWS account' }).check();
    await page.getByLabel(/^Account ID/).fill('12345');
    await page.getByLabel('Role name').fill('e2e-second');
    await page.getByRole('button', { name: 'Create role' }).click();
    await expect(page.getByRole('alert')).toContainText('12-digit ID');
    await expect(page.getByLabel('Role name')).toHaveValue('e2e-second');
    await page.getByLabel(/^Account ID/).fill('444455556666');
    await page.getByRole('button', { name: 'Create role' }).click();
    await expect(page.getByText('The role is created.')).toBeVisible();

    await nav(page, 'Roles');
    await expect(page.getByRole('columnheader', { name: 'Role name' })).toHaveAttribute('aria-sort', 'ascending');
    const partner = page.getByRole('row').filter({ hasText: 'e2e-partner' });
    await expect(partner).toContainText('Account: 444455556666');
    await expect(partner).toContainText('Never');
    await hydrated(page);
    await page.getByRole('checkbox', { name: 'Select e2e-partner' }).check();
    await page.getByRole('checkbox', { name: 'Select e2e-second' }).check();
    await page.getByText('Delete selected roles').click();
    await page.getByLabel('To confirm deletion, enter delete.').fill('delete');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page.getByText('Roles deleted: e2e-partner, e2e-second.')).toBeVisible();
    await expect(page.getByRole('link', { name: 'e2e-partner' })).toHaveCount(0);
    await signOut(page);
  });
});
