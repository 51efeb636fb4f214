import { expect, test } from '@playwright/test';
import { admin, LoginPage } from '../pages/login-page';
import { NewProjectPage, ProjectPage } from '../pages/project-page';

test('a two-stage project: written in the editor, approved, stage 1 opens its tickets', async ({ page }) => {
  await page.goto('/login?next=/projects/new');
  const login = new LoginPage(page);
  await login.hydrated();
  await login.signIn(admin.email, admin.password);
  await expect(page).toHaveURL(/\/projects\/new$/);
  await login.hydrated();

  const editor = new NewProjectPage(page);
  const title = `Rotate the edge certificates ${Date.now()}`;
  await editor.title.fill(title);
  await editor.goal.fill('Every public endpoint serves a certificate valid for another year.');
  await editor.fillStage(0, 'Renew', ['Renew the api certificate', 'Renew the www certificate']);
  await editor.addStage.click();
  await editor.fillStage(1, 'Verify', ['Check every endpoint from outside']);

  // A blank task (spaces pass the browser's own check) is refused by the
  // server, named next to its field, and nothing is created.
  await editor.stage(1).getByRole('button', { name: 'Add task' }).click();
  await editor.stage(1).locator('.plan-task').nth(1).getByRole('textbox', { name: 'Task', exact: true }).fill('   ');
  await editor.create.click();
  await expect(editor.stage(1).locator('.plan-task').nth(1).getByRole('alert')).toHaveText("the task's title is required");
  await expect(page).toHaveURL(/\/projects\/new$/);
  await editor.stage(1).locator('.plan-task').nth(1).getByRole('button', { name: 'Remove' }).click();

  await editor.create.click();
  await expect(page).toHaveURL(/\/projects\/[0-9a-f-]{36}$/);
  const project = new ProjectPage(page);
  await project.hydrated();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(title);
  await expect(project.status).toHaveText('Draft');
  await expect(project.stage(1)).toContainText('Renew the api certificate');
  await expect(project.tickets(1)).toHaveCount(0);

  await project.approve.click();
  await expect(project.status).toHaveText('Active');
  await expect(project.tickets(1)).toHaveCount(2);
  await expect(project.tickets(1).first()).toHaveText(/^E2E-\d+$/);
  await expect(project.stage(1).locator('.badge.status-open')).toHaveCount(2);
  await expect(project.stage(2)).toContainText('waiting');
  await expect(project.stage(2)).toContainText('Check every endpoint from outside');
  await expect(project.approve).toHaveCount(0);

  // The list shows it with its progress; its tickets link back to it.
  await page.goto('/projects');
  const row = page.getByRole('row').filter({ hasText: title });
  await expect(row).toContainText('Active');
  await expect(row).toContainText('0% · 0/3');
  await expect(row).toContainText('1 of 2 opened');
  await row.getByRole('link', { name: title }).click();
  await project.hydrated();
  const first = await project.tickets(1).first().textContent();
  await project.tickets(1).first().click();
  await expect(page).toHaveURL(new RegExp(`/tickets/${first}$`));
  await expect(page.locator('a.project-link')).toHaveText('project · stage 1');
});
