import { expect, test } from '@playwright/test';
import { admin, LoginPage } from '../pages/login-page';
import { Shell } from '../pages/shell';

test('signing out ends the session', async ({ page }) => {
  await page.goto('/login');
  const login = new LoginPage(page);
  await login.hydrated();
  await login.signIn(admin.email, admin.password);
  await expect(page).toHaveURL(/\/tickets$/);

  const shell = new Shell(page);
  await shell.signOut.click();
  await expect(page).toHaveURL(/\/login$/);

  // The old session is gone on the server too, not just in this tab.
  await page.goto('/tickets');
  await expect(page).toHaveURL(/\/login\?next=\/tickets$/);
});
