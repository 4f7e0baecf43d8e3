// Launch Debian's chromium headless through playwright-core (never a downloaded browser).
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './server.mjs';

export const CHROMIUM = process.env.HOOPAUTH_CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A fresh browser (playwright gives every launch a new temporary user-data-dir). */
export async function launch() {
  const { chromium } = createRequire(path.join(ROOT, 'bindings-wasm', 'package.json'))('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** A page that reports its errors to `log` (printed when a test fails). */
export async function newPage(browser, log) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log.push(`console.${m.type()}: ${m.text()}`); });
  return page;
}
