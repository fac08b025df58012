import { expect, test, type CDPSession, type Page } from '@playwright/test';
import { failOnPageErrors, hydrated, rootPassword, signInAsRoot, signOut } from './helpers';

// Runs after security.spec.ts (one server, specs in file order): the root user has no MFA.
failOnPageErrors();

type Authenticator = { cdp: CDPSession; authenticatorId: string };

/** Chromium's virtual authenticator (DevTools protocol), present for this page only. */
async function plugIn(page: Page, options: Record<string, unknown>): Promise<Authenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { automaticPresenceSimulation: true, ...options },
  });
  return { cdp, authenticatorId };
}

async function nav(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Identity and Access Management' }).getByRole('link', { name }).click();
}

async function register(page: Page, name: string, kind: RegExp) {
  await nav(page, 'My security credentials');
  await hydrated(page);
  await page.getByText('Register security key or passkey', { exact: true }).click();
  await page.getByLabel('Key name').fill(name);
  await page.getByLabel(kind).check();
  await page.getByLabel('Your password, to register the key').fill(rootPassword);
  await page.getByRole('button', { name: 'Register key' }).click();
  await expect(page.getByText('The security key is registered.')).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: name })).toContainText('Security key');
}

async function signInWithKey(page: Page, name: string) {
  await signInAsRoot(page);
  await expect(page).toHaveURL(/\/signin\/mfa$/);
  await hydrated(page);
  await page.getByRole('button', { name: `Use ${name}` }).click();
}

async function remove(page: Page, name: string) {
  await nav(page, 'My security credentials');
  await hydrated(page);
  await page.getByRole('row').filter({ hasText: name }).getByText('Remove', { exact: true }).click();
  await page.getByLabel('Your password, to remove this device').fill(rootPassword);
  await page.getByRole('button', { name: 'Remove device' }).click();
  await expect(page.getByText('The MFA device has been removed.')).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: name })).toHaveCount(0);
}

const kinds = [
  {
    name: 'e2e-u2f-key',
    kind: /Security key \(U2F or FIDO2\)/,
    options: { protocol: 'u2f', transport: 'usb', hasResidentKey: false, hasUserVerification: false },
  },
  {
    name: 'e2e-fido2-key',
    kind: /Security key \(U2F or FIDO2\)/,
    options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'usb', hasResidentKey: false, hasUserVerification: false },
  },
  {
    name: 'e2e-passkey',
    kind: /Passkey: unlock it/,
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  },
];

test.describe.serial('security keys and passkeys', () => {
  for (const k of kinds) {
    test(`${k.name}: registered, used to sign in, removed`, async ({ page }) => {
      const { cdp, authenticatorId } = await plugIn(page, k.options);
      await signInAsRoot(page);
      await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
      await register(page, k.name, k.kind);
      await signOut(page);

      await signInWithKey(page, k.name);
      await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toHaveLength(1);
      expect(credentials[0].signCount).toBeGreaterThan(0);

      await remove(page, k.name);
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    });
  }

  test('a key whose signature counter goes back (a copy) is refused', async ({ page }) => {
    const { cdp, authenticatorId } = await plugIn(page, kinds[1].options);
    await signInAsRoot(page);
    await register(page, 'e2e-cloned-key', kinds[1].kind);
    await signOut(page);
    await signInWithKey(page, 'e2e-cloned-key');
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await signOut(page);

    // The same private key with its counter back at zero: what a cloned key looks like.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const original = credentials[0];
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: original.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...original, signCount: 0 } });
    await signInWithKey(page, 'e2e-cloned-key');
    await expect(page.getByRole('alert')).toContainText('This security key may have been copied');
    await expect(page).toHaveURL(/\/signin\/mfa$/);

    // The genuine key (its counter ahead) still signs in; then it is removed.
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: original.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...original, signCount: original.signCount + 10 } });
    await signInWithKey(page, 'e2e-cloned-key');
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    await remove(page, 'e2e-cloned-key');
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  });
});
