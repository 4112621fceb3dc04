// What the explorer's browser tests share: Debian's headless Chromium
// (/usr/bin/chromium, or $CHROMIUM; playwright-core downloads nothing), pages
// that record every request they make, and a way to call a method through
// the page's form.
import { chromium } from "playwright-core";

/// `--name value` pairs from the command line.
export function flags() {
  const argv = process.argv.slice(2);
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith("--")) flags[argv[i].slice(2)] = argv[++i];
  }
  return flags;
}

export function check(condition, what) {
  if (!condition) throw new Error(`failed: ${what}`);
  console.log(`ok: ${what}`);
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
  });
}

/// Opens `${base}${path}`; `page.verify()` then checks that the page threw
/// nothing and made no request outside the server.
export async function open(browser, base, path = "/explorer") {
  const page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
  page.setDefaultTimeout(10_000);
  const requests = [];
  const errors = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("websocket", (socket) => requests.push(socket.url()));
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${base}${path}`);
  page.verify = () => {
    check(errors.length === 0, `the page threw no error${errors.length ? ": " + errors.join("; ") : ""}`);
    const host = new URL(base).host;
    const elsewhere = requests.filter((url) => new URL(url).host !== host);
    check(elsewhere.length === 0, `every request went to ${host} (${requests.length} made${elsewhere.length ? "; not " + elsewhere.join(", ") : ""})`);
  };
  return page;
}

/// Opens `method`'s form, fills text fields and picks options, and presses
/// Call (or Send).
export async function callMethod(page, method, fields = {}, choices = {}) {
  await page.click(`#methods button[data-method="${method}"]`);
  await page.waitForSelector(`#method-name:text-is("${method}")`);
  for (const [name, value] of Object.entries(fields)) await page.fill(`#param-${name}`, value);
  for (const [name, value] of Object.entries(choices)) await page.selectOption(`#param-${name}`, value);
  await page.click("#call");
}
