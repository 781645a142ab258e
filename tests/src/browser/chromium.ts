import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Flags that keep Debian's Chromium quiet and working here: without the background-networking ones it keeps
 * trying hosts it cannot reach, and without a sandbox it runs as root in containers.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumOptions {
  /** Relative URLs in `page.goto()` resolve against it, e.g. the cloud's `http://127.0.0.1:8080`. */
  baseURL?: string;
  /** Defaults to a desktop 1280x800; use 375 wide to check the phone layout. */
  viewport?: { width: number; height: number };
  /** Milliseconds for each action and navigation (default 15 s). */
  timeoutMs?: number;
}

export interface ChromiumSession {
  /** The persistent context is the browser: `newPage()` opens more tabs sharing its cookies. */
  browser: BrowserContext;
  context: BrowserContext;
  page: Page;
  /** Closes the browser and deletes its throw-away profile. */
  close(): Promise<void>;
}

/** Starts Debian's Chromium (or `CHROMIUM_PATH`) headless with a fresh profile and one open page. */
export async function launchChromium(options: ChromiumOptions = {}): Promise<ChromiumSession> {
  const profile = await mkdtemp(join(tmpdir(), 'vigil-chromium-'));
  let context: BrowserContext;
  try {
    // Playwright refuses --user-data-dir in args; a persistent context is how it takes a profile folder.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_ARGS],
      baseURL: options.baseURL,
      viewport: options.viewport ?? { width: 1280, height: 800 },
      locale: 'en-US',
      timezoneId: 'UTC',
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const timeout = options.timeoutMs ?? 15_000;
  context.setDefaultTimeout(timeout);
  context.setDefaultNavigationTimeout(timeout);
  const page = context.pages()[0] ?? (await context.newPage());

  let closed = false;
  return {
    browser: context,
    context,
    page,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
  };
}

/** Signs in through the portal's login page and waits for the site list. */
export async function signIn(page: Page, login: { email: string; password: string }): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(login.email);
  await page.getByLabel('Password').fill(login.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'New site' }).waitFor();
}
