const { chromium } = require('@playwright/test');
(async () => {
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu','--disable-background-networking'] });
  const p = await b.newPage({ viewport: { width: 1280, height: 800 } });
  await p.goto('http://127.0.0.1:3100/setup?token=TCVZvgmb6KmjanFBTN0xZc47ou_wnOxo6qev92dp2uU');
  await p.getByLabel('Account alias').fill('example-corp');
  await p.getByLabel('Root user email address').fill('root@example.com');
  await p.getByLabel('Root user password').fill('Root-password-1');
  await p.getByLabel('Confirm password').fill('Root-password-1');
  await p.getByRole('button', { name: 'Create account' }).click();
  await p.waitForURL(/signin/);
  await p.screenshot({ path: '/tmp/shot/signin.png' });
  await p.getByLabel('Root user email address').fill('root@example.com');
  await p.getByLabel('Password').fill('Root-password-1');
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(/\/$/);
  for (const n of ['alice','bob','carol']) {
    await p.goto('http://127.0.0.1:3100/users/create');
    await p.getByLabel('User name').fill(n);
    await p.getByPlaceholder('Key').first().fill('team');
    await p.getByPlaceholder('Value').first().fill('platform');
    await p.getByRole('button', { name: 'Create user' }).click();
    await p.waitForURL(/users\/[a-z]+$/);
  }
  await p.screenshot({ path: '/tmp/shot/detail.png' });
  await p.goto('http://127.0.0.1:3100/users');
  await p.waitForSelector('text=carol');
  await p.screenshot({ path: '/tmp/shot/users.png' });
  await p.setViewportSize({ width: 390, height: 844 });
  await p.screenshot({ path: '/tmp/shot/phone.png' });
  await b.close();
})();
