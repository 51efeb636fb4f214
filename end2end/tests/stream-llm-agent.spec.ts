import { expect, test } from '@playwright/test';
import { openCanvas } from '../pages/canvas';
import { admin } from '../pages/login-page';
import { serveFakeModel } from '../support/fake-model';

const auth = { Authorization: `Bearer ${process.env.E2E_TOKEN}` };

test('an LLM agent streams its answer to everyone on the Canvas, then proposes a command with its risk', async ({ browser, request }) => {
  const model = await serveFakeModel(
    [
      { role: 'assistant', content: 'Checking the disk ' },
      { content: 'usage first, ' },
      { content: 'then what fills it.' },
      {
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'propose_command', arguments: '{"command": "df -h", "explanation": "Which filesystem is full", "risk": "low"}' } }],
      },
    ],
    400,
  );
  const created = await request.post('/api/v1/org/support/tickets', {
    headers: auth,
    data: { subject: 'Disk full on web-3', description: 'The disk of web-3 is full since this morning.', agent_id: 'llm-linux' },
  });
  expect(created.status()).toBe(201);
  const ticketId = (await created.json()).ticket_id as string;

  const alice = await openCanvas(browser, admin.email, admin.password, ticketId);
  const settings = { headers: { Origin: new URL(alice.url()).origin } };
  const set = await alice.request.put('/api/v1/org/llm', { ...settings, data: { base_url: model.baseUrl, model: 'fake-model' } });
  expect(set.status()).toBe(200);
  try {
    const bob = await openCanvas(browser, admin.email, admin.password, ticketId);
    const sent = await request.post(`/api/v1/org/support/tickets/${ticketId}/messages`, {
      headers: auth,
      data: { content: 'The disk is full; what is using it?' },
    });
    expect(sent.status()).toBe(202);

    // Both watchers see the answer grow before it is committed.
    for (const page of [alice, bob]) {
      await expect(page.locator('.entry.draft')).toContainText('Checking the disk');
    }
    await expect(bob.locator('.entry.draft')).toContainText('usage first,');
    // Then the reply replaces the draft, with the proposal, its reason and its risk.
    for (const page of [alice, bob]) {
      const conversation = page.getByRole('region', { name: 'Conversation' });
      await expect(conversation).toContainText('Checking the disk usage first, then what fills it.');
      await expect(page.locator('.entry.draft')).toHaveCount(0);
      const card = page.locator('.command-card').first();
      await expect(card.locator('pre.command')).toHaveText('$ df -h');
      await expect(card.locator('.command-why')).toContainText('low risk');
      await expect(card.locator('.command-why')).toContainText('Which filesystem is full');
    }
  } finally {
    await alice.request.delete('/api/v1/org/llm', settings);
    await model.close();
  }
});
