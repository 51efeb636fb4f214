import { expect, type Locator, type Page } from '@playwright/test';

/** One ticket, `/tickets/{ORG-N}`. */
export class TicketPage {
  readonly timeline: Locator;
  readonly comment: Locator;
  readonly attachments: Locator;
  readonly controls: Locator;

  constructor(readonly page: Page) {
    this.timeline = page.getByRole('region', { name: 'Conversation' });
    this.comment = page.getByLabel('Comment');
    this.attachments = page.getByRole('region', { name: 'Attachments' });
    this.controls = page.getByRole('region', { name: 'Ticket controls' });
  }

  async open(ticketId: string) {
    await this.page.goto(`/tickets/${ticketId}`);
    await expect(this.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  }

  async addComment(text: string) {
    await this.comment.fill(text);
    await this.page.getByRole('button', { name: 'Comment', exact: true }).click();
  }

  async moveTo(status: string, reason: string) {
    await this.controls.getByLabel('Move to').selectOption({ label: status });
    await this.controls.getByLabel('Reason').fill(reason);
    await this.controls.getByRole('button', { name: 'Change status' }).click();
  }

  async attach(name: string, content: string) {
    await this.attachments.getByLabel('File to attach').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(content) });
    await this.attachments.getByRole('button', { name: 'Attach', exact: true }).click();
  }
}
