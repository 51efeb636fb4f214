import { expect, type Locator, type Page } from '@playwright/test';

/** Raising a ticket, `/tickets/new`, with its AI review panel. */
export class RaisePage {
  readonly subject: Locator;
  readonly description: Locator;
  readonly review: Locator;
  readonly panel: Locator;
  readonly duplicates: Locator;
  readonly acknowledge: Locator;
  readonly file: Locator;

  constructor(readonly page: Page) {
    this.subject = page.getByLabel('Subject');
    this.description = page.getByLabel('Description');
    this.review = page.getByRole('button', { name: /^Review/ });
    this.panel = page.getByRole('region', { name: 'AI review' });
    this.duplicates = this.panel.locator('.duplicates li');
    this.acknowledge = page.getByLabel('This is a different problem: file it anyway');
    this.file = page.getByRole('button', { name: 'File ticket' });
  }

  async open() {
    await this.page.goto('/tickets/new');
    await expect(this.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  }

  async describe(subject: string, description: string) {
    await this.subject.fill(subject);
    await this.description.fill(description);
    await this.review.click();
    await expect(this.panel).toBeVisible();
  }
}
