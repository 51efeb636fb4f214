import { type Locator, type Page } from '@playwright/test';

/** The signed-in chrome: header, navigation, sign-out. */
export class Shell {
  readonly user: Locator;
  readonly org: Locator;
  readonly signOut: Locator;

  constructor(readonly page: Page) {
    this.user = page.locator('.whoami .user');
    this.org = page.locator('.whoami .org');
    this.signOut = page.getByRole('button', { name: 'Sign out' });
  }

  nav(name: string): Locator {
    return this.page.locator('#main-nav').getByRole('link', { name, exact: true });
  }
}
