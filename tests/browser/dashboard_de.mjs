// Drives Debian's Chromium through the dashboard in German, as a person would: sign up
// through the page, sign in, change the phone number, download the export. Screenshots
// of every step go to the artefacts folder.
//
// Usage: node dashboard_de.mjs BASE_URL ARTEFACTS_DIR
// For a server run with another policy file: EXPECT_ENTITY (the German customer's
// controlling entity), EXPECT_VERSION (the policy version in force), SECTOR (a business
// sector it offers) and FORBIDDEN_TEXT (a name no page may show, case-insensitive).
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [base, artefacts] = process.argv.slice(2);
if (!base || !artefacts) {
  console.error("usage: node dashboard_de.mjs BASE_URL ARTEFACTS_DIR");
  process.exit(2);
}
mkdirSync(artefacts, { recursive: true });
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const expectEntity = process.env.EXPECT_ENTITY || "ASERGO Europe GmbH";
const expectVersion = process.env.EXPECT_VERSION || "2018-05-18";
const sector = process.env.SECTOR || "hosting_and_cloud";
const forbidden = (process.env.FORBIDDEN_TEXT || "").toLowerCase();

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ locale: "de-DE", acceptDownloads: true });
const page = await context.newPage();
const shot = async (name) => {
  if (forbidden) {
    const html = (await page.content()).toLowerCase();
    check(!html.includes(forbidden), `${page.url()} shows ${forbidden}`);
  }
  await page.screenshot({ path: join(artefacts, name), fullPage: true });
};

try {
  await page.goto(`${base}/signup`);
  check((await page.textContent("h1")) === "Konto anlegen", "the sign-up page is in German");
  await shot("01-signup.png");

  const name = "Zoë Müller-Łukasiewicz";
  await page.fill("#name", name);
  await page.fill("#company", "Müller Webhosting GmbH");
  await page.fill("#email", "zoe.browser@example.de");
  await page.fill("#phone", "030 901820");
  await page.fill("#street", "Witzlebenstraße 6");
  await page.fill("#postal_code", "14057");
  await page.fill("#city", "Berlin");
  await page.fill("#country", "DE");
  await page.selectOption("#business_sector", sector);
  await page.fill("#interest", "Dedizierte Server in Frankfurt");
  await page.click("button[type=submit]");
  await page.waitForSelector("#user-id");
  const userId = (await page.textContent("#user-id")).trim();
  const password = (await page.textContent("#password")).trim();
  check(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/.test(userId), `a generated userID (${userId})`);
  check(password.length >= 24, "a generated password");
  check((await page.textContent("main")).includes("nur dieses eine Mal"), "the once-only warning in German");
  await shot("02-credentials.png");

  await page.goto(`${base}/signin`);
  await page.fill("#user_id", userId);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/dashboard`);
  check((await page.textContent("h1")) === "Meine Daten", "the dashboard is in German");
  const table = await page.textContent("#my-data");
  check(table.includes(name), "the name as written, with its diacritics");
  check(table.includes("+4930901820"), "the phone in E.164");
  check(table.includes(expectEntity), "the controlling entity");
  check(table.includes(expectVersion), "the policy version accepted");
  await shot("03-dashboard.png");

  await page.fill("#phone", "+49 89 1234567");
  await page.click("#save-profile");
  await page.waitForSelector("p.notice[role=status]");
  check((await page.textContent("p.notice[role=status]")).includes("gespeichert"), "a German confirmation");
  check((await page.textContent("#my-data")).includes("+49891234567"), "the new phone is shown");
  const log = await page.textContent("#access-log");
  check(log.includes("geändert: Telefon"), "the change is in the access log, in German");
  check(!log.includes("geändert: Name"), "unchanged fields are not recorded as changed");
  await shot("04-phone-changed.png");

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const saved = join(artefacts, "export.json");
  await download.saveAs(saved);
  const exported = JSON.parse(readFileSync(saved, "utf8"));
  check(exported.account.phone === "+49891234567", "the export holds the new phone");
  check(exported.account.name === name, "the export holds the name");
  check(exported.account.user_id === userId, "the export holds the userID");
  check(exported.controller.name === expectEntity, "the export names the controller");
  await page.goto(`${base}/privacy`);
  check((await page.textContent("#policy-version")).includes(expectVersion), "the privacy page shows the version in force");
  await shot("05-privacy.png");
  writeFileSync(join(artefacts, "result.txt"), "ok\n");
  console.log(`browser test passed: signed up ${userId}, changed the phone, downloaded the export`);
} catch (error) {
  await shot("failure.png").catch(() => {});
  console.error(`browser test failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
