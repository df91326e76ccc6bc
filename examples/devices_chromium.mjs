// Drives the `devices` example ("where you're signed in") with headless Chromium, as two
// separate browsers, and checks that each sees the other and can log it out.
//
// Usually run through devices_chromium.sh beside this file, which builds and starts the
// example first. By hand, with the example already listening:
//
//     cargo run --example devices &
//     node examples/devices_chromium.mjs
//
// Environment:
//   BASE_URL             the app (default http://127.0.0.1:3000)
//   CHROMIUM             the browser binary (default /usr/bin/chromium, Debian's `chromium`)
//   PLAYWRIGHT_CORE_DIR  a directory whose node_modules holds playwright-core, if it is not
//                        found from this file's directory (the .sh sets it)
//
// Two isolated browser contexts, A and B, with different user agents, each sign in as "ada".
// Then A lists both devices and marks itself, logs B out with B's "Log out" button, B signs
// in again, and A's "Log out all other devices" logs B out once more. It prints a PASS line
// per check and exits non-zero with a FAIL line at the first check that does not hold.

import { createRequire } from 'node:module';
import path from 'node:path';

const BASE_URL = process.env.BASE_URL || 'http://127.0.0.1:3000';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const USER = 'ada';
// Different user agents, so that the page tells the two browsers apart.
const AGENT_A = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
const AGENT_B =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/18.5 Safari/605.1.15';
const TIMEOUT_MS = 15_000;

/** playwright-core: from PLAYWRIGHT_CORE_DIR if set, else as a bare import from here. */
async function loadPlaywright() {
  const dir = process.env.PLAYWRIGHT_CORE_DIR;
  if (dir) {
    const require = createRequire(path.join(path.resolve(dir), 'package.json'));
    return require('playwright-core');
  }
  return import('playwright-core');
}

class CheckFailed extends Error {}

function pass(message) {
  console.log(`PASS ${message}`);
}

function check(condition, message, detail = '') {
  if (!condition) {
    throw new CheckFailed(detail ? `${message}\n${detail}` : message);
  }
  pass(message);
}

/** The page's device rows, as { browser, network, hasLogOut } (the header row left out). */
async function deviceRows(page) {
  return page.locator('table tr').evaluateAll((rows) =>
    rows
      .filter((row) => row.querySelector('td'))
      .map((row) => {
        const cells = [...row.querySelectorAll('td')].map((cell) => cell.textContent.trim());
        return {
          browser: cells[0],
          network: cells[1],
          hasLogOut: row.querySelector('form button') !== null,
        };
      }),
  );
}

async function describe(page) {
  return `page at ${page.url()}:\n${await page.locator('body').innerText()}`;
}

/** Whether the page shows the sign-in form (and not someone's devices). */
async function showsSignIn(page) {
  const form = await page.locator('form[action="/login"] input[name="user"]').count();
  const heading = await page.getByRole('heading', { name: /Signed in as/ }).count();
  return form === 1 && heading === 0;
}

/** Opens the app and signs in as USER with the page's form (its CSRF token included). */
async function signIn(page, name) {
  await page.goto(BASE_URL);
  check(await showsSignIn(page), `${name}: the sign-in form is shown`, await describe(page));
  await page.locator('input[name="user"]').fill(USER);
  await clickAndWait(page, page.getByRole('button', { name: 'Sign in' }));
  const heading = page.getByRole('heading', { name: `Signed in as ${USER}` });
  check(
    (await heading.count()) === 1,
    `${name}: signed in as ${USER}`,
    await describe(page),
  );
}

/** Clicks a button whose form posts and redirects back to "/", and waits for the new page. */
async function clickAndWait(page, button) {
  const response = page.waitForResponse(
    (r) => r.request().method() === 'GET' && new URL(r.url()).pathname === '/',
  );
  await button.click();
  const landed = await response;
  await page.waitForLoadState('load');
  return landed;
}

async function run(chromium) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    // Two contexts: separate cookie jars, so two devices as far as the app can tell.
    const contextA = await browser.newContext({ userAgent: AGENT_A });
    const contextB = await browser.newContext({ userAgent: AGENT_B });
    contextA.setDefaultTimeout(TIMEOUT_MS);
    contextB.setDefaultTimeout(TIMEOUT_MS);
    const a = await contextA.newPage();
    const b = await contextB.newPage();
    for (const page of [a, b]) {
      page.on('response', (r) => {
        if (r.status() >= 400) console.log(`note: ${r.status()} for ${r.request().method()} ${r.url()}`);
      });
    }

    await signIn(a, 'A');
    await signIn(b, 'B');

    // A lists both devices, marks itself, and has a "Log out" button on B's row only.
    await a.reload();
    let rows = await deviceRows(a);
    const dump = () => JSON.stringify(rows, null, 2);
    check(rows.length === 2, 'A: the page lists two devices', dump());
    const rowA = rows.find((row) => row.browser.startsWith(AGENT_A));
    const rowB = rows.find((row) => row.browser.startsWith(AGENT_B));
    check(rowA?.browser === `${AGENT_A} (this device)`, "A: its own row shows A's user agent and \"(this device)\"", dump());
    check(rowB?.browser === AGENT_B, "A: B's row shows B's user agent, not marked as this device", dump());
    check(rowA.network !== '' && rowA.network !== 'unknown', `A: its row shows a network (${rowA.network})`, dump());
    check(!rowA.hasLogOut && rowB.hasLogOut, "A: only B's row has a \"Log out\" button", dump());

    // B's page marks B, the other way round.
    await b.reload();
    const rowsB = await deviceRows(b);
    check(
      rowsB.some((row) => row.browser === `${AGENT_B} (this device)`) &&
        rowsB.some((row) => row.browser === AGENT_A),
      'B: the page lists both devices and marks B as this device',
      JSON.stringify(rowsB, null, 2),
    );

    // A logs B out with the button on B's row.
    const rowBLocator = a.locator('table tr').filter({ hasText: AGENT_B });
    const landed = await clickAndWait(a, rowBLocator.getByRole('button', { name: 'Log out' }));
    check(landed.ok(), `A: "Log out" on B's row posted and came back to / (${landed.status()})`);
    rows = await deviceRows(a);
    check(
      rows.length === 1 && rows[0].browser === `${AGENT_A} (this device)`,
      "A: B's row is gone, A's stays",
      dump(),
    );
    await b.reload();
    check(await showsSignIn(b), 'B: after a reload, B sees the sign-in form again', await describe(b));

    // B signs in again, and A sees it again.
    await signIn(b, 'B (again)');
    await a.reload();
    rows = await deviceRows(a);
    check(
      rows.length === 2 && rows.some((row) => row.browser === AGENT_B),
      'A: B is listed again',
      dump(),
    );

    // A logs out all the other devices.
    const landedAll = await clickAndWait(a, a.getByRole('button', { name: 'Log out all other devices' }));
    check(landedAll.ok(), `A: "Log out all other devices" posted and came back to / (${landedAll.status()})`);
    rows = await deviceRows(a);
    check(
      rows.length === 1 && rows[0].browser === `${AGENT_A} (this device)`,
      'A: only A is left, still signed in',
      dump(),
    );
    await b.reload();
    check(await showsSignIn(b), 'B: after a reload, B is logged out again', await describe(b));
  } finally {
    await browser.close();
  }
}

try {
  const { chromium } = await loadPlaywright();
  await run(chromium);
  console.log('All checks passed.');
} catch (error) {
  if (error instanceof CheckFailed) {
    console.error(`FAIL ${error.message}`);
  } else {
    console.error(`FAIL (error) ${error?.stack || error}`);
  }
  process.exit(1);
}
