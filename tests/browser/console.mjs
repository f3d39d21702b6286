// Drives Debian's Chromium through the operator console as its staff would: a privacy
// officer enrols an authenticator from the page (this script computes the TOTP codes
// from the secret shown, with its own RFC 6238 code), signs in, sees the overdue
// request on the home page, opens the person, signs out; a wrong and a replayed code are
// refused; a support operator sees no privacy-officer navigation and gets 403 on its
// pages. Screenshots of each role's home page go to the artefacts folder.
//
// Usage: node console.mjs BASE_URL ARTEFACTS_DIR
// Env: OPERATORS (JSON {role: {name, password}}), PERSON_EMAIL, REQUEST_ID.
import { chromium } from "playwright-core";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, artefacts] = process.argv.slice(2);
mkdirSync(artefacts, { recursive: true });
const operators = JSON.parse(process.env.OPERATORS);
const personEmail = process.env.PERSON_EMAIL;
const requestId = process.env.REQUEST_ID;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    check(v >= 0, `not base32: ${c}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238 with SHA-1, 6 digits, 30-second steps (as authenticator apps do).
function totp(secret, seconds = Date.now() / 1000) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).toString().padStart(6, "0");
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function signIn(page, who) {
  await page.goto(`${base}/admin`);
  check(page.url().endsWith("/admin/signin"), `not sent to sign in: ${page.url()}`);
  await page.fill("#name", who.name);
  await page.fill("#password", who.password);
  await page.click("main form button[type=submit]");
}

// Enrols an authenticator from the enrolment page; returns the secret shown.
async function enrol(page, role) {
  check(page.url().endsWith("/admin/enrol"), `${role}: not asked to enrol: ${page.url()}`);
  check(await page.isVisible("#qr svg"), `${role}: no QR code`);
  const secret = (await page.textContent("#totp-secret")).trim();
  await page.screenshot({ path: join(artefacts, `${role}-enrol.png`), fullPage: true });
  await page.fill("#code", totp(secret));
  await page.click("main form button[type=submit]");
  const codes = await page.$$eval("#recovery-codes code", (els) => els.map((e) => e.textContent));
  check(codes.length === 10, `${role}: ${codes.length} recovery codes`);
  await page.click("text=Continue");
  return secret;
}

async function home(page, role) {
  check(page.url().endsWith("/admin"), `${role}: not on the home page: ${page.url()}`);
  await page.screenshot({ path: join(artefacts, `${role}-home.png`), fullPage: true });
  return page.content();
}

const context = await browser.newContext({ locale: "en-GB" });
const page = await context.newPage();
try {
  // The privacy officer: enrol, home page with the overdue request, the person, sign out.
  const officer = operators.privacy_officer;
  await signIn(page, officer);
  const secret = await enrol(page, "privacy_officer");
  let html = await home(page, "privacy_officer");
  check(html.includes(requestId.slice(0, 8)), "the overdue request is not on the home page");
  check(await page.isVisible("#requests h3.overdue"), "no overdue heading");
  check(!html.includes(personEmail), "the home page shows an address");
  check(await page.isVisible("#console-nav a[href='/admin/access-log']"), "no access-log navigation");

  await page.click("#console-nav a[href='/admin/search']");
  await page.fill("#email", personEmail);
  await page.selectOption("#purpose", "requests");
  await page.click("main form button[type=submit]");
  check(await page.isVisible("#fields"), "the person page shows no fields");
  check(await page.isVisible("#person-requests"), "the person page shows no requests");
  check(await page.isVisible("#access-log"), "the person page shows no access log");
  check((await page.content()).includes(personEmail), "the person's address for the requests purpose");
  await page.screenshot({ path: join(artefacts, "privacy_officer-person.png"), fullPage: true });

  await page.click("#sign-out");
  check(await page.isVisible("#signed-out"), "no signed-out page");
  await page.goto(`${base}/admin`);
  check(page.url().endsWith("/admin/signin"), "still signed in after signing out");

  // Again: a wrong code is refused, a right one signs in, and the same code is refused
  // at the next sign-in (replay).
  await signIn(page, officer);
  check(page.url().endsWith("/admin/second-factor"), `no code asked: ${page.url()}`);
  const right = totp(secret);
  await page.fill("#code", right === "123456" ? "654321" : "123456");
  await page.click("main form button[type=submit]");
  check(await page.isVisible("[role=alert]"), "a wrong code was not refused");
  check(page.url().endsWith("/admin/second-factor"), "a wrong code signed in");
  // Wait for a step not used at enrolment, then sign in with it.
  const step = Math.floor(Date.now() / 30000);
  await page.waitForTimeout(((step + 1) * 30000 - Date.now()) + 500);
  const fresh = totp(secret);
  await page.fill("#code", fresh);
  await page.click("main form button[type=submit]");
  check(page.url().endsWith("/admin"), `a right code did not sign in: ${page.url()}`);
  await page.click("#sign-out");
  await signIn(page, officer);
  await page.fill("#code", fresh);
  await page.click("main form button[type=submit]");
  check(await page.isVisible("[role=alert]"), "a replayed code was accepted");
  await page.screenshot({ path: join(artefacts, "privacy_officer-replay-refused.png"), fullPage: true });
  await context.clearCookies();

  // Support: no privacy-officer navigation; 403 on its pages.
  await signIn(page, operators.support);
  html = await home(page, "support");
  check(!(await page.isVisible("#console-nav a[href='/admin/access-log']")), "support sees the access-log link");
  const forbidden = await page.goto(`${base}/admin/access-log`);
  check(forbidden.status() === 403, `support got ${forbidden.status()} on the access log`);
  await context.clearCookies();

  // Every other role's home page; those whose role requires it enrol first.
  for (const role of ["billing", "marketing", "security", "admin"]) {
    await signIn(page, operators[role]);
    if (page.url().endsWith("/admin/enrol")) await enrol(page, role);
    html = await home(page, role);
    if (role === "admin") {
      // Statistics: a chart drawn on the server, its numbers, a CSV.
      check(await page.isVisible("#console-nav a[href='/admin/stats']"), "no statistics navigation");
      await page.click("#console-nav a[href='/admin/stats']");
      check(await page.isVisible("#chart svg"), "no visits chart");
      await page.screenshot({ path: join(artefacts, "admin-stats-visits.png"), fullPage: true });
      await page.selectOption("#report", "pages");
      await page.click("#stats-form button[type=submit]");
      check(await page.isVisible("#chart svg"), "no pages chart");
      check((await page.textContent("#stats-table")).includes("/pricing"), "no numbers beside the chart");
      await page.screenshot({ path: join(artefacts, "admin-stats-pages.png"), fullPage: true });
      const csv = await page.request.get(base + (await page.getAttribute("#csv", "href")));
      check(csv.status() === 200 && (await csv.text()).startsWith("value,visitors,visits"), "no CSV");
      // Accounts: one chart per dimension (entity, sector, country).
      await page.selectOption("#report", "accounts");
      await page.click("#stats-form button[type=submit]");
      for (const dimension of ["entity", "sector", "country"]) {
        check(await page.isVisible(`#chart-${dimension} svg`), `no ${dimension} chart`);
      }
      check((await page.textContent("#stats-table")).includes("country:"), "no accounts per country");
      await page.screenshot({ path: join(artefacts, "admin-stats-accounts.png"), fullPage: true });
    }
    await page.click("#sign-out");
    await context.clearCookies();
  }

  // The console in Danish.
  await signIn(page, operators.support);
  await page.goto(`${base}/admin?lang=da`);
  check((await page.textContent("h1")) === "I dag", "the console is not in Danish");
  await page.screenshot({ path: join(artefacts, "support-home-da.png"), fullPage: true });
  console.log("console browser test passed");
} catch (err) {
  await page.screenshot({ path: join(artefacts, "failure.png"), fullPage: true }).catch(() => {});
  console.error(err.stack || String(err));
  process.exitCode = 1;
} finally {
  await browser.close();
}
