import { expect, type Locator, type Page } from '@playwright/test';

/** The sign-in page, `/login`. */
export class LoginPage {
  readonly email: Locator;
  readonly password: Locator;
  readonly reveal: Locator;
  readonly submit: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.email = page.getByLabel('Email');
    this.password = page.locator('input[name="password"]');
    this.reveal = page.getByRole('button', { name: /Show|Hide/ });
    this.submit = page.getByRole('button', { name: 'Sign in' });
    this.error = page.getByRole('alert');
  }

  /** Waits until the WebAssembly client has hydrated the page. */
  async hydrated() {
    await expect(this.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  }

  async signIn(email: string, password: string) {
    await this.email.fill(email);
    await this.password.fill(password);
    await this.submit.click();
  }
}

/** Credentials of the admin that scripts/with-server.sh created. */
export const admin = {
  email: process.env.E2E_EMAIL ?? 'e2e-admin@example.com',
  password: process.env.E2E_PASSWORD ?? 'e2e password 1',
};
