import { expect, type Browser, type Page } from '@playwright/test';
import { LoginPage } from './login-page';

/** Signs a fresh browser context in and opens the ticket's Canvas, live. */
export async function openCanvas(browser: Browser, email: string, password: string, ticketId: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`/login?next=/tickets/${ticketId}`);
  const login = new LoginPage(page);
  await login.hydrated();
  await login.signIn(email, password);
  await expect(page).toHaveURL(new RegExp(`/tickets/${ticketId}$`));
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  // Signed in, on the Canvas, its websocket up (the URL above also matches /login?next=...).
  await expect(page.locator('.badges .live-state[data-online="true"]')).toBeVisible();
  return page;
}
