import { expect, type Locator, type Page } from '@playwright/test';

/** `/projects/new`: the plan editor. */
export class NewProjectPage {
  readonly title: Locator;
  readonly goal: Locator;
  readonly addStage: Locator;
  readonly create: Locator;

  constructor(readonly page: Page) {
    this.title = page.getByRole('textbox', { name: 'Title', exact: true });
    this.goal = page.getByRole('textbox', { name: 'Goal', exact: true });
    this.addStage = page.getByRole('button', { name: 'Add stage' });
    this.create = page.getByRole('button', { name: 'Create project' });
  }

  stage(index: number): Locator {
    return this.page.locator('.plan-stage').nth(index);
  }

  /** Names stage `index` (from 0) and fills its tasks, adding task rows as needed. */
  async fillStage(index: number, name: string, tasks: string[]) {
    const stage = this.stage(index);
    await stage.getByRole('textbox', { name: `Stage ${index + 1} name`, exact: true }).fill(name);
    for (const [t, title] of tasks.entries()) {
      if (t > 0) await stage.getByRole('button', { name: 'Add task' }).click();
      const task = stage.locator('.plan-task').nth(t);
      await task.getByRole('textbox', { name: 'Task', exact: true }).fill(title);
      await task.getByLabel('Acceptance criteria').fill(`${title}: done and checked`);
    }
  }
}

/** `/projects/:id`: stages, their tickets, approval. */
export class ProjectPage {
  readonly status: Locator;
  readonly approve: Locator;

  constructor(readonly page: Page) {
    this.status = page.locator('.page-head .badges .badge').first();
    this.approve = page.getByRole('button', { name: /^Approve revision/ });
  }

  stage(number: number): Locator {
    return this.page.locator(`.stage[data-stage="${number}"]`);
  }

  /** The ticket links of a stage's table. */
  tickets(number: number): Locator {
    return this.stage(number).locator('td.mono a');
  }

  async hydrated() {
    await expect(this.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  }
}
