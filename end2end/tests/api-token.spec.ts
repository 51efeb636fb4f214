import { expect, test } from '@playwright/test';
import { admin, LoginPage } from '../pages/login-page';

test('an API token created in Admin works against the API once, until revoked', async ({ page, request }) => {
  await page.goto('/login?next=/admin');
  const login = new LoginPage(page);
  await login.hydrated();
  await login.signIn(admin.email, admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);

  await page.getByPlaceholder('e.g. deploy pipeline').fill('e2e script');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByTestId('new-token').textContent())!.trim();
  expect(secret).toMatch(/^odk_[0-9a-f]{64}$/);

  const me = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${secret}` } });
  expect(me.status()).toBe(200);
  expect((await me.json()).user.email).toBe(admin.email);

  const row = page.getByRole('row').filter({ hasText: 'e2e script' });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row.getByText('revoked')).toBeVisible();

  const after = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${secret}` } });
  expect(after.status()).toBe(401);
  expect((await after.json()).error.code).toBe('unauthenticated');
});
