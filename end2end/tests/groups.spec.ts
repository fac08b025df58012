import { expect, test } from '@playwright/test';
import { createConsoleUser, failOnPageErrors, hydrated, nav, signInAsRoot, signInAsUser, signOut, userTab } from './helpers';

// Runs after console.spec.ts (one server, specs in file order): the account exists.
failOnPageErrors();

const gusPassword = 'Gus-Reads-Long-Novels-7!';

test.describe.serial('user groups', () => {
  test("a group's policy reaches its user: the console shows what it allows and refuses the rest", async ({ page }) => {
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await createConsoleUser(page, 'e2e-gus', gusPassword);

    await nav(page, 'User groups');
    await expect(page.getByRole('heading', { name: 'User groups', level: 1 })).toBeVisible();
    await page.getByRole('link', { name: 'Create group' }).first().click();
    await hydrated(page);
    await page.getByLabel('User group name').fill('e2e-readers');
    await page.getByLabel('Find users by name').fill('e2e-gus');
    await page.getByRole('checkbox', { name: 'e2e-gus' }).check();
    await page.getByLabel('Find policies by name').fill('IAMReadOnly');
    await page.getByRole('checkbox', { name: 'IAMReadOnlyAccess' }).check();
    // Finding others keeps what is chosen.
    await page.getByLabel('Find users by name').fill('no-such-user');
    await expect(page.getByRole('checkbox', { name: 'e2e-gus' })).toBeChecked();
    await page.getByRole('button', { name: 'Create user group' }).click();

    await expect(page).toHaveURL(/\/groups\/details\/e2e-readers\?done=group-created/);
    await expect(page.getByText('The user group is created.')).toBeVisible();
    const members = page.getByRole('table', { name: 'Users in this group' });
    await expect(members.getByRole('row').filter({ hasText: 'e2e-gus' })).toBeVisible();
    await expect(page.getByRole('row').filter({ hasText: 'IAMReadOnlyAccess' })).toContainText('AWS managed');
    // The user's page says how each policy reaches the user.
    await page.goto('/users/details/e2e-gus');
    await hydrated(page);
    const granted = page.getByRole('table', { name: 'Permissions policies' });
    await expect(granted.getByRole('row').filter({ hasText: 'IAMReadOnlyAccess' })).toContainText('Group e2e-readers');
    // The users list shows AWS's columns: one group, a password set today, no MFA, no key.
    await nav(page, 'Users');
    const gus = page.getByRole('row').filter({ hasText: 'e2e-gus' });
    await expect(gus.getByRole('cell').nth(3)).toHaveText('1');
    await expect(gus.getByRole('cell').nth(6)).toHaveText('Today');
    await expect(gus.getByRole('cell').nth(5)).toHaveText('-');
    await signOut(page);

    // gus reads what IAMReadOnlyAccess allows, and is refused what it does not.
    await signInAsUser(page, 'e2e-gus', gusPassword);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await nav(page, 'Users');
    await expect(page.getByRole('link', { name: 'e2e-gus' })).toBeVisible();
    await expect(page.getByRole('alert')).toHaveCount(0);
    await nav(page, 'User groups');
    const row = page.getByRole('row').filter({ hasText: 'e2e-readers' });
    await expect(row).toContainText('1 user');
    await expect(row).toContainText('1 policy');
    await page.getByRole('link', { name: 'Create group' }).first().click();
    await hydrated(page);
    await page.getByLabel('User group name').fill('e2e-not-allowed');
    await page.getByRole('button', { name: 'Create user group' }).click();
    const refusal = page.getByRole('alert');
    await expect(refusal).toContainText('AccessDenied');
    await expect(refusal).toContainText('iam:CreateGroup');
    // The form keeps what was typed.
    await expect(page.getByLabel('User group name')).toHaveValue('e2e-not-allowed');
    await signOut(page);
  });

  test('groups are filtered, sorted and paged from the URL, and deleted in bulk', async ({ page }) => {
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    for (const name of ['e2e-bulk-1', 'e2e-bulk-2']) {
      await page.goto('/groups/create');
      await hydrated(page);
      await page.getByLabel('User group name').fill(name);
      await page.getByRole('button', { name: 'Create user group' }).click();
      await expect(page.getByText('The user group is created.')).toBeVisible();
    }

    await nav(page, 'User groups');
    // With no sort in the URL the list is in name order, and its header says so.
    await expect(page.getByRole('columnheader', { name: 'Group name' })).toHaveAttribute('aria-sort', 'ascending');
    await page.getByRole('searchbox', { name: 'Filter groups by name' }).fill('E2E-BULK');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect(page).toHaveURL(/\/groups\?filter=E2E-BULK$/);
    await expect(page.getByRole('row').filter({ hasText: 'e2e-readers' })).toHaveCount(0);
    await page.getByRole('link', { name: 'Creation time' }).click();
    await page.getByRole('link', { name: 'Creation time' }).click();
    await expect(page).toHaveURL(/filter=E2E-BULK&sort=created&desc=1/);
    // A reload (or a shared link) shows the same list: newest first.
    await page.reload();
    await hydrated(page);
    await expect(page.getByRole('columnheader', { name: 'Creation time' })).toHaveAttribute('aria-sort', 'descending');
    const names = page.getByRole('table', { name: 'User groups' }).getByRole('link', { name: /^e2e-bulk-/ });
    await expect(names).toHaveText(['e2e-bulk-2', 'e2e-bulk-1']);

    await page.getByRole('checkbox', { name: 'Select e2e-bulk-1' }).check();
    await page.getByRole('checkbox', { name: 'Select e2e-bulk-2' }).check();
    await page.getByText('Delete selected groups', { exact: true }).click();
    // A mistyped word is refused, and keeps the selection and the open form.
    await page.getByLabel('To confirm deletion, enter delete.').fill('delet');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page.getByRole('alert')).toContainText('To confirm, enter `delete` in the field.');
    await expect(page.getByRole('checkbox', { name: 'Select e2e-bulk-1' })).toBeChecked();
    await page.getByLabel('To confirm deletion, enter delete.').fill('delete');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page.getByText('Groups deleted: e2e-bulk-1, e2e-bulk-2.')).toBeVisible();
    await expect(page.getByRole('link', { name: /^e2e-bulk-/ })).toHaveCount(0);
  });

  test("a group's users and policies are removed, then the group is deleted by name", async ({ page }) => {
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    // The user's page lists its groups, and adding it to others has its own page.
    await page.goto('/users/details/e2e-gus');
    await hydrated(page);
    await userTab(page, 'Groups');
    await expect(page.getByRole('table', { name: 'Groups of this user' })).toContainText('e2e-readers');
    await page.getByRole('link', { name: 'Add user to groups' }).click();
    await expect(page.getByRole('heading', { name: 'Add e2e-gus to groups' })).toBeVisible();
    await hydrated(page);
    await page.getByLabel('Find groups by name').fill('e2e-read');
    await expect(page.getByRole('checkbox', { name: 'e2e-readers' })).toBeVisible();
    await page.getByRole('link', { name: 'Cancel' }).click();
    await expect(page).toHaveURL(/\/users\/details\/e2e-gus\?tab=groups$/);

    await nav(page, 'User groups');
    await page.getByRole('link', { name: 'e2e-readers' }).click();
    await hydrated(page);
    await page.getByRole('checkbox', { name: 'Select e2e-gus' }).check();
    await page.getByRole('button', { name: 'Remove selected users' }).click();
    await expect(page.getByText('The users are removed from the group.')).toBeVisible();
    await expect(page.getByText('No users in this group.')).toBeVisible();
    await page.getByRole('button', { name: 'Detach IAMReadOnlyAccess' }).click();
    await expect(page.getByText('The policy is detached.')).toBeVisible();

    // Deleting asks for the name; a wrong one is refused in words.
    await page.getByLabel('To confirm deletion, enter the group name.').fill('e2e-reader');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page.getByRole('alert')).toContainText('To confirm, enter the group name `e2e-readers`.');
    await page.getByLabel('To confirm deletion, enter the group name.').fill('e2e-readers');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page.getByText('Group deleted: e2e-readers.')).toBeVisible();
  });
});
