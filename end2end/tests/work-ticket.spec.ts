import { expect, test } from '@playwright/test';
import { admin, LoginPage } from '../pages/login-page';
import { TicketPage } from '../pages/ticket-page';

test('working a ticket: comment, attach a log, move its status', async ({ page, request }) => {
  const created = await request.post('/api/v1/org/support/tickets', {
    headers: { Authorization: `Bearer ${process.env.E2E_TOKEN}` },
    data: { subject: 'Nightly backup job failed', description: 'The 02:00 pg_dump job exited 1 in prod.' },
  });
  expect(created.status()).toBe(201);
  const ticketId = (await created.json()).ticket_id as string;

  await page.goto(`/login?next=/tickets/${ticketId}`);
  const login = new LoginPage(page);
  await login.hydrated();
  await login.signIn(admin.email, admin.password);
  await expect(page).toHaveURL(new RegExp(`/tickets/${ticketId}$`));

  const ticket = new TicketPage(page);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await ticket.addComment('Disk on the backup host was full; cleaned it up.');
  await expect(ticket.timeline).toContainText('Disk on the backup host was full; cleaned it up.');
  await expect(ticket.comment).toHaveValue('');

  await ticket.attach('pg_dump.log', 'pg_dump: error: could not write to output file: No space left on device\n');
  const file = ticket.attachments.getByRole('link', { name: 'pg_dump.log' });
  await expect(file).toBeVisible();
  // The page's own session fetches it, as a click would.
  const download = await page.request.get((await file.getAttribute('href'))!);
  expect(download.status()).toBe(200);
  expect(download.headers()['content-disposition']).toContain('attachment');

  await ticket.moveTo('Resolved', 'backups run again');
  await expect(ticket.controls.locator('.badge').first()).toHaveText('Resolved');
  await expect(ticket.timeline).toContainText('backups run again');
});
