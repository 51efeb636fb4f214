import { expect, test } from '@playwright/test';
import { admin, LoginPage } from '../pages/login-page';
import { Shell } from '../pages/shell';

test('a page asks for sign-in, then brings the person back to it', async ({ page }) => {
  await page.goto('/admin');
  await expect(page).toHaveURL(/\/login\?next=\/admin$/);

  const login = new LoginPage(page);
  await login.hydrated();
  // Only the hydrated client can flip the field: this proves interactivity.
  await expect(login.password).toHaveAttribute('type', 'password');
  await login.reveal.click();
  await expect(login.password).toHaveAttribute('type', 'text');
  await expect(login.reveal).toHaveText('Hide');

  await login.signIn(admin.email, admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  const shell = new Shell(page);
  await expect(shell.user).toContainText(admin.email);
  await expect(shell.org).toHaveText('e2e');
  await expect(page.getByRole('heading', { name: 'People' })).toBeVisible();
});

test('a wrong password is refused with a clear message', async ({ page }) => {
  await page.goto('/login');
  const login = new LoginPage(page);
  await login.hydrated();
  await login.signIn(admin.email, 'not the password');
  await expect(login.error).toHaveText('wrong email or password');
  await expect(page).toHaveURL(/\/login/);
});
