import { expect, test, type Page } from '@playwright/test';
import { openCanvas } from '../pages/canvas';
import { admin } from '../pages/login-page';

const auth = { Authorization: `Bearer ${process.env.E2E_TOKEN}` };

/** The text the terminal shows (xterm.js draws rows as DOM text, and only
 * while the terminal is on screen). */
const screen = (page: Page) => page.locator('.terminal-session .xterm-rows');

test('one person types in the shared terminal and another sees it live; a viewer is read-only', async ({ browser, request }) => {
  const created = await request.post('/api/v1/org/support/tickets', {
    headers: auth,
    data: { subject: 'Terminal check on the build host' },
  });
  expect(created.status()).toBe(201);
  const ticketId = (await created.json()).ticket_id as string;

  const alice = await openCanvas(browser, admin.email, admin.password, ticketId);
  const origin = new URL(alice.url()).origin;
  const viewer = { email: `vera-${Date.now()}@example.com`, password: 'vera password 1' };
  const made = await alice.request.post('/api/v1/users', {
    headers: { Origin: origin },
    data: { email: viewer.email, name: 'Vera Viewer', role: 'viewer', password: viewer.password },
  });
  expect(made.status()).toBe(201);

  // Alice opens a terminal from the Canvas and types in it.
  await alice.getByRole('button', { name: 'Open terminal' }).click();
  const session = alice.locator('.terminal-session[data-can-type="true"]');
  await expect(session).toBeVisible();
  await expect(session.locator('.live-state')).toHaveText('● live');
  const vera = await openCanvas(browser, viewer.email, viewer.password, ticketId);
  await expect(vera.locator('.terminal-session[data-can-type="false"]')).toBeVisible();
  await expect(vera.locator('.terminal-session')).toContainText('read-only');

  await session.locator('.xterm').click();
  await alice.keyboard.type('echo hello from $((40+2))');
  await alice.keyboard.press('Enter');
  await expect(screen(alice)).toContainText('hello from 42');
  await vera.locator('.terminal-session').scrollIntoViewIfNeeded();
  await expect(screen(vera)).toContainText('hello from 42');

  // The viewer's keys never reach the shell.
  await vera.locator('.terminal-session .xterm').click();
  await vera.keyboard.type('echo typed by vera');
  await vera.keyboard.press('Enter');
  await session.locator('.xterm').click();
  await alice.keyboard.type('echo after-$((1+1))');
  await alice.keyboard.press('Enter');
  await expect(screen(vera)).toContainText('after-2');
  await expect(screen(alice)).not.toContainText('typed by vera');

  // The command lands on the timeline for both, and the session's recording can be replayed.
  const block = (page: Page) => page.locator('.entry-output pre.output').filter({ hasText: 'hello from 42' });
  await expect(block(alice)).toContainText('$ echo hello from $((40+2))');
  await expect(block(vera)).toBeVisible();
  await alice.getByRole('button', { name: 'End session' }).click();
  await expect(vera.locator('.ended-sessions summary')).toHaveText('Recordings (1)');
  await vera.locator('.ended-sessions summary').click();
  await vera.getByRole('button', { name: 'Replay' }).click();
  await vera.locator('.replay').scrollIntoViewIfNeeded();
  await vera.getByRole('button', { name: 'Skip to end' }).click();
  await expect(vera.locator('.replay .xterm-rows')).toContainText('hello from 42');
});
