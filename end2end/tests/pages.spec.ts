import AxeBuilder from '@axe-core/playwright';
import { createHash } from 'node:crypto';
import { expect, test, type Page, type Response } from '@playwright/test';
import { createConsoleUser, failOnPageErrors, hydrated, signInAsRoot, signOut } from './helpers';

// Runs after console.spec.ts (one server, specs in file order): the account exists.
failOnPageErrors();

/** Every WCAG 2.1 A and AA violation axe finds on the page as it stands, one line each. */
async function violations(page: Page, what: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.map(
    (v) => `${what}: ${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

/** Opens `path`, waits until it is interactive and nothing is still loading, then checks it. */
async function check(page: Page, path: string): Promise<string[]> {
  // The server renders the whole page: no suspended part is left for the wasm to fill in (a
  // local resource read under a suspense once made the server send "Loading…" instead of a form).
  const html = await (await page.request.get(path)).text();
  const unrendered = html.includes('__INCOMPLETE_CHUNKS=[];') ? [] : [`${path}: parts left unrendered by the server`];
  await page.goto(path);
  await hydrated(page);
  await expect(page.getByText(/^Loading/)).toHaveCount(0);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  return [...unrendered, ...(await violations(page, path))];
}

/** Opens a new policy in the visual editor with S3 chosen and its Read actions shown. */
async function openVisualEditor(page: Page) {
  await page.goto('/policies/create');
  await hydrated(page);
  await page.getByRole('button', { name: 'Visual' }).click();
  const block = page.getByRole('group', { name: 'Permission block 1' });
  await block.getByLabel('Service').selectOption({ label: 'Amazon S3 (s3)' });
  await block.getByText(/^Read \(0 of/).click();
  await expect(page.getByText(/^Loading/)).toHaveCount(0);
  return block;
}

test.describe.serial('every page', () => {
  test('the sign-in page passes the accessibility check', async ({ page }) => {
    await page.goto('/signin');
    await hydrated(page);
    expect(await violations(page, '/signin')).toEqual([]);
  });

  test('assets come compressed, named by their content, kept for good', async ({
    page,
  }) => {
    // What a browser asks for when it opens a page: the names the page itself gives.
    type Asset = { url: string; encoding: string; cache: string; bytes: number; response: Response };
    let assets: Asset[] = [];
    // Recorded as each response arrives (nothing awaited: every one is in before the checks).
    page.on('response', (response) => {
      const url = new URL(response.url()).pathname;
      if (url.startsWith('/pkg/')) {
        const headers = response.headers();
        assets.push({
          url,
          encoding: headers['content-encoding'] ?? '',
          cache: headers['cache-control'] ?? '',
          bytes: Number(headers['content-length'] ?? 0),
          response,
        });
      }
    });
    const open = async (path: string) => {
      assets = [];
      await page.goto(path);
      await hydrated(page);
      for (const asset of assets) {
        expect(asset.url, asset.url).toMatch(/^\/pkg\/[A-Za-z0-9_]+\.[A-Za-z0-9_-]{16,}\.(wasm|js|css)$/);
        // Kept a year only when the name is the hash of what is served (cargo-leptos's MD5), so a
        // new build is a new name. The main js and wasm are named before the split loader's name
        // is written into them: those must be checked again on each use.
        if (asset.response.status() === 304) {
          // Checked again and unchanged: only an asset kept `no-cache` is asked about.
          expect(asset.cache, asset.url).toBe('no-cache');
          continue;
        }
        const hash = createHash('md5').update(await asset.response.body()).digest('base64url');
        const cache = asset.url.split('.').includes(hash) ? 'public, max-age=31536000, immutable' : 'no-cache';
        expect(asset.cache, asset.url).toBe(cache);
        // Brotli where the browser takes it (Chromium offers it to secure origins), gzip otherwise.
        expect(['br', 'gzip'], asset.url).toContain(asset.encoding);
      }
      // Once each (a preloaded file is fetched again from the cache).
      // (A 304, if the browser reports one, downloaded nothing.)
      const fetched = assets.filter((a) => a.url.endsWith('.wasm') && a.response.status() !== 304);
      const wasm = [...new Map(fetched.map((a) => [a.url, a])).values()];
      const bytes = wasm.reduce((sum, a) => sum + a.bytes, 0);
      // What a first visit downloads before the page is interactive (printed, not asserted: the
      // README's figures come from here and from the build's files).
      console.log(`${path}: ${wasm.length} wasm files, ${bytes} bytes (${assets[0]?.encoding})`);
      return { assets, bytes, brotli: wasm.every((a) => a.encoding === 'br') };
    };
    // The first pages a person opens (sign-in, then the dashboard) carry only their own sections
    // (app/src/sections.rs): at most 250 kB of brotli wasm each. Over it, a page pulled other
    // sections back in, or the splitter put every section's data in the main wasm (frontend/src/lib.rs).
    const budget = 250_000;
    const signIn = await open('/signin');
    for (const kind of ['.wasm', '.js', '.css']) {
      expect(signIn.assets.some((a) => a.url.startsWith('/pkg/portcullis.') && a.url.endsWith(kind)), kind).toBe(true);
    }
    // A section's chunks are named by the page's HTML, which preloads them.
    expect(signIn.assets.some((a) => a.url.startsWith('/pkg/split_sign_in_section_'))).toBe(true);
    // Chromium takes brotli from localhost, a secure origin: the budget is in brotli bytes.
    expect(signIn.brotli).toBe(true);
    expect(signIn.bytes).toBeLessThanOrEqual(budget);
    // Only the main js and wasm are checked on each use; the loader, the chunks and the css are kept.
    const checked = signIn.assets.filter((a) => a.cache === 'no-cache').map((a) => a.url);
    expect([...new Set(checked.map((url) => url.split('.').pop()))].sort()).toEqual(['js', 'wasm']);
    for (const url of checked) expect(url).toMatch(/^\/pkg\/portcullis\.[^.]+\.(js|wasm)$/);
    expect(signIn.assets.filter((a) => a.cache.includes('immutable')).length).toBeGreaterThan(3);
    // A check costs a 304 while the content is the same, by its hash (an ETag), never by date: a
    // rollback or a build that keeps file dates must not pass for the copy a browser holds.
    for (const url of checked) {
      const first = await page.request.get(url);
      const etag = first.headers()['etag'];
      expect(etag, url).toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/);
      const same = await page.request.get(url, { headers: { 'if-none-match': etag } });
      expect(same.status(), url).toBe(304);
      expect(same.headers()['cache-control'], url).toBe('no-cache');
      const other = await page.request.get(url, { headers: { 'if-none-match': 'W/"AAAAAAAAAAAAAAAAAAAAAA"' } });
      expect(other.status(), url).toBe(200);
      const dated = await page.request.get(url, { headers: { 'if-modified-since': new Date().toUTCString() } });
      expect(dated.status(), url).toBe(200);
    }
    // The page's HTML names its section's chunks, so the browser fetches them beside the main wasm.
    const signInHtml = await (await page.request.get('/signin')).text();
    expect(signInHtml).toMatch(/<link[^>]* href="\/pkg\/split_sign_in_section_[^"]+\.wasm"/);
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    const dashboard = await open('/');
    expect(dashboard.brotli).toBe(true);
    expect(dashboard.bytes).toBeLessThanOrEqual(budget);
    // Printed for the README: a list, and the heaviest section (the policy editor).
    await open('/users');
    await open('/policies/create');
    // A name no build made is not found, and nothing may keep the answer.
    const unknown = await page.request.get('/pkg/portcullis.AAAAAAAAAAAAAAAAAAAAAA.wasm');
    expect(unknown.status()).toBe(404);
    expect(unknown.headers()['cache-control']).toBe('no-store');
    // The page itself is never stored: it holds account data.
    const html = await page.request.get('/users');
    expect(html.headers()['cache-control']).toBe('no-store');
    await signOut(page);
  });

  test('every console page passes the accessibility check, full and empty', async ({ page }) => {
    // About four seconds a page (axe walks the whole document): minutes, not the default one.
    test.setTimeout(480_000);
    await signInAsRoot(page);
    await expect(page.getByRole('heading', { name: 'IAM dashboard' })).toBeVisible();
    // Every page's violations are gathered, then reported together.
    const found: string[] = [];
    // Empty lists first (the groups spec deleted its groups).
    found.push(...(await check(page, '/groups')));
    await createConsoleUser(page, 'e2e-ally', 'Ally-Checks-Every-Page-4!');
    await page.goto('/groups/create');
    await hydrated(page);
    await page.getByLabel('User group name').fill('e2e-ally-group');
    await page.getByLabel('Find users by name').fill('e2e-ally');
    await page.getByRole('checkbox', { name: 'e2e-ally' }).check();
    await page.getByLabel('Find policies by name').fill('IAMReadOnly');
    await page.getByRole('checkbox', { name: 'IAMReadOnlyAccess' }).check();
    await page.getByRole('button', { name: 'Create user group' }).click();
    await expect(page.getByText('The user group is created.')).toBeVisible();
    found.push(...(await check(page, '/roles')));
    await page.goto('/roles/create');
    await hydrated(page);
    await page.getByLabel('Role name').fill('e2e-ally-role');
    await page.getByRole('button', { name: 'Create role' }).click();
    await expect(page.getByText('The role is created.')).toBeVisible();

    found.push(...(await check(page, '/policies?type=customer')));
    await page.goto('/policies/create');
    await hydrated(page);
    await page
      .getByLabel('Policy editor (JSON)')
      .fill('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}');
    // A name as long as IAM allows (128), for the phone-width check below.
    await page.getByLabel('Policy name').fill(`e2e-ally-policy-${'x'.repeat(112)}`);
    await page.getByRole('button', { name: 'Create policy' }).click();
    await expect(page.getByText('The policy is created.')).toBeVisible();
    const policy = new URL(page.url()).pathname;
    // The visual editor, with a service's actions open.
    await openVisualEditor(page);
    found.push(...(await violations(page, '/policies/create (visual editor)')));
    const edit = policy.replace('/details/', '/edit/');
    const attach = policy.replace('/details/', '/attach/');

    const paths = [
      '/',
      '/users',
      '/users/create',
      '/users/details/e2e-ally',
      '/users/details/e2e-ally?tab=groups',
      '/users/details/e2e-ally?tab=tags',
      '/users/details/e2e-ally?tab=security_credentials',
      '/users/details/e2e-ally/add-to-groups',
      '/users/details/e2e-ally/attach-policies',
      '/users/details/e2e-ally/set-boundary',
      '/groups',
      '/groups/create',
      '/groups/details/e2e-ally-group',
      '/groups/details/e2e-ally-group/add-users',
      '/groups/details/e2e-ally-group/attach-policies',
      '/roles',
      '/roles/create',
      '/roles/details/e2e-ally-role',
      '/roles/details/e2e-ally-role/attach-policies',
      '/roles/details/e2e-ally-role/set-boundary',
      '/policies',
      '/policies/create',
      policy,
      `${policy}?tab=entities`,
      `${policy}?tab=versions&compare=v1&with=v1`,
      `${policy}?tab=tags`,
      edit,
      attach,
      '/policies/details/arn:aws:iam::aws:policy%2Fjob-function%2FViewOnlyAccess',
      '/account-settings',
      '/security-credentials',
      '/no-such-page',
    ];
    for (const path of paths) {
      found.push(...(await check(page, path)));
    }
    // The create-user wizard's later steps.
    await page.goto('/users/create');
    await hydrated(page);
    await page.getByLabel('User name').fill('e2e-ally-wizard');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByText(/^Loading/)).toHaveCount(0);
    found.push(...(await violations(page, '/users/create (permissions)')));
    await page.getByRole('button', { name: 'Next' }).click();
    found.push(...(await violations(page, '/users/create (review)')));
    expect(found).toEqual([]);

    // What the README shows, made here when asked (PORTCULLIS_SCREENSHOTS=1): each a desktop page.
    if (process.env.PORTCULLIS_SCREENSHOTS) {
      const shots: [string, string][] = [
        ['/', 'dashboard'],
        ['/users', 'users'],
        ['/users/details/e2e-ally', 'user'],
        ['/policies', 'policies'],
        ['/policies/details/arn:aws:iam::aws:policy%2Fjob-function%2FViewOnlyAccess', 'policy-summary'],
        ['/roles/create', 'create-role'],
      ];
      for (const [path, name] of shots) {
        await page.goto(path);
        await hydrated(page);
        await expect(page.getByText(/^Loading/)).toHaveCount(0);
        await page.screenshot({ path: `../docs/screenshots/${name}.png` });
      }
      const block = await openVisualEditor(page);
      await block.getByRole('checkbox', { name: 'GetObject', exact: true }).check();
      await page.getByRole('heading', { name: 'Specify permissions' }).scrollIntoViewIfNeeded();
      await page.evaluate(() => window.scrollBy(0, -80));
      await page.screenshot({ path: '../docs/screenshots/visual-editor.png' });
    }

    // Every page at a phone's width (375 px): nothing wider than the screen, no sideways scrolling.
    await page.setViewportSize({ width: 375, height: 812 });
    const wide: string[] = [];
    for (const path of paths) {
      await page.goto(path);
      await hydrated(page);
      await expect(page.getByText(/^Loading/)).toHaveCount(0);
      // The page itself, and any box that scrolls sideways inside it (a table's wrapper, a
      // policy's JSON): at this width everything wraps or folds into cards instead. (A box that
      // clips on purpose, the top bar's identity with its ellipsis, is not sideways scrolling.)
      const found = await page.evaluate(() => {
        const out: string[] = [];
        const root = document.documentElement;
        if (root.scrollWidth > root.clientWidth) {
          out.push(`the page is ${root.scrollWidth} px wide`);
        }
        for (const el of Array.from(document.querySelectorAll('body *'))) {
          if (['TEXTAREA', 'SELECT', 'INPUT', 'OPTION', 'DATALIST'].includes(el.tagName)) continue;
          if ((el as HTMLElement).offsetParent === null) continue;
          const scrolls = ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
          if (scrolls && el.scrollWidth > el.clientWidth + 1) {
            out.push(`${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} > ${el.clientWidth} px`);
          }
        }
        return out;
      });
      wide.push(...found.map((f) => `${path}: ${f}`));
    }
    expect(wide).toEqual([]);
    await page.goto('/');
    await signOut(page);
  });
});
