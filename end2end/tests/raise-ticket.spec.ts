import { expect, test } from '@playwright/test';
import { admin, LoginPage } from '../pages/login-page';
import { RaisePage } from '../pages/raise-page';

test('raising a ticket: the review suggests a duplicate, the person files anyway', async ({ page, request }) => {
  // An existing ticket, raised by a script through the API.
  const existing = await request.post('/api/v1/org/support/tickets', {
    headers: { Authorization: `Bearer ${process.env.E2E_TOKEN}` },
    data: {
      subject: 'Pods in payments namespace keep restarting with OOMKilled',
      description: 'payments-api pods restart every few minutes in prod; kubectl shows OOMKilled, limit 512Mi.',
    },
  });
  expect(existing.status()).toBe(201);
  const existingId = (await existing.json()).ticket_id as string;

  await page.goto('/login?next=/tickets/new');
  const login = new LoginPage(page);
  await login.hydrated();
  await login.signIn(admin.email, admin.password);
  await expect(page).toHaveURL(/\/tickets\/new$/);

  const raise = new RaisePage(page);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await raise.describe(
    'payments: OOMKilled, pods restart over and over',
    'In production the payments-api pods are OOMKilled and restart again and again. Memory limit is 512Mi.',
  );
  await expect(raise.duplicates.first()).toContainText(existingId);
  await expect(raise.panel.getByText('Suggested summary')).toBeVisible();

  if (await raise.acknowledge.isVisible()) {
    await expect(raise.file).toBeDisabled();
    await raise.acknowledge.check();
  }
  await raise.file.click();
  await expect(page).toHaveURL(/\/tickets\/E2E-\d+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('payments: OOMKilled, pods restart over and over');
  await expect(page.getByRole('region', { name: 'Conversation' })).toContainText(`possible duplicate of ${existingId}`);
});
