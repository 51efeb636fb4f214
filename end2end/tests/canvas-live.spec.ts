import { expect, test, type Page } from '@playwright/test';
import { openCanvas } from '../pages/canvas';
import { admin } from '../pages/login-page';

const auth = { Authorization: `Bearer ${process.env.E2E_TOKEN}` };

test('two people on one Canvas see each other approve and the agent answer, live', async ({ browser, request }) => {
  // Start from a message to the built-in runbook agent on the local instance.
  const created = await request.post('/api/v1/org/support/tickets', {
    headers: auth,
    data: { agent_id: 'runbook', message: 'The disk on this host is filling up; find what is using the space.' },
  });
  expect(created.status()).toBe(201);
  const ticketId = (await created.json()).ticket_id as string;

  const alice = await openCanvas(browser, admin.email, admin.password, ticketId);
  // The admin adds Bob, an operator, from her signed-in session.
  const bob = { email: `bob-${Date.now()}@example.com`, password: 'bob password 1' };
  const made = await alice.request.post('/api/v1/users', {
    headers: { Origin: new URL(alice.url()).origin },
    data: { email: bob.email, name: 'Bob Operator', role: 'operator', password: bob.password },
  });
  expect(made.status()).toBe(201);
  const bobPage = await openCanvas(browser, bob.email, bob.password, ticketId);

  // Each sees the other watching.
  await expect(alice.locator('.watchers')).toContainText('Bob Operator');
  await expect(bobPage.locator('.watchers')).toContainText('Bob Operator');

  // The agent's proposals are there for both.
  const aliceCard = alice.locator('.command-card').first();
  const bobCard = bobPage.locator('.command-card').first();
  await expect(aliceCard).toBeVisible();
  const command = (await aliceCard.locator('pre.command').innerText()).replace(/^\$ /, '');
  await expect(bobCard.locator('pre.command')).toHaveText(`$ ${command}`);
  await expect(bobCard.locator('.command-state')).toHaveText('proposed');

  // Alice approves; Bob's card changes without a reload.
  await aliceCard.getByRole('button', { name: 'Approve' }).click();
  await expect(bobCard.locator('.command-state')).toHaveText('approved, queued for the next message');
  await expect(bobPage.getByRole('region', { name: 'Conversation' })).toContainText(`approved ${command}`);

  // Bob sends the decision; both see the agent run it and answer.
  await expect(bobPage.locator('.composer .hint')).toHaveText('1 command decision will go with it');
  await bobPage.getByRole('button', { name: 'Send' }).click();
  const ran = (page: Page) => page.locator('.entry-output pre.output').filter({ hasText: `$ ${command}` });
  await expect(ran(alice)).toBeVisible();
  await expect(ran(bobPage)).toBeVisible();
  await expect(aliceCard.locator('.command-state')).toHaveText(/ran|sent to the agent/);
});
