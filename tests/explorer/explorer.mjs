// Drives the API explorer of running examples in headless Chromium:
//   node explorer.mjs --calculator URL --chat URL --tour URL [--screenshot FILE]
// Exits 0 when every check passes; says what failed otherwise. The browser
// is Debian's (/usr/bin/chromium, or $CHROMIUM): playwright-core downloads
// nothing.
import { chromium } from "playwright-core";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
for (const name of ["calculator", "chat", "tour"]) {
  if (!args[name]) throw new Error(`--${name} URL is required`);
}

function check(condition, what) {
  if (!condition) throw new Error(`failed: ${what}`);
  console.log(`ok: ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
});

// A page that records every request it makes, to prove they all go to
// the server under test.
async function open(base) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
  page.setDefaultTimeout(10_000);
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("websocket", (socket) => requests.push(socket.url()));
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${base}/explorer`);
  page.verify = () => {
    check(errors.length === 0, `the page threw no error${errors.length ? ": " + errors.join("; ") : ""}`);
    const host = new URL(base).host;
    const elsewhere = requests.filter((url) => new URL(url).host !== host);
    check(elsewhere.length === 0, `every request went to ${host} (${requests.length} made${elsewhere.length ? "; not " + elsewhere.join(", ") : ""})`);
  };
  return page;
}

async function callMethod(page, method, params) {
  await page.click(`#methods button[data-method="${method}"]`);
  await page.waitForSelector(`#method-name:text-is("${method}")`);
  for (const [name, value] of Object.entries(params)) {
    await page.fill(`#param-${name}`, value);
  }
  await page.click("#call");
}

try {
  // The calculator: its methods, a result, an error with its code.
  const calculator = await open(args.calculator);
  await calculator.waitForSelector('#methods button[data-method="subtract"]');
  const methods = await calculator.$$eval("#methods button", (buttons) => buttons.map((b) => b.dataset.method));
  check(["add", "subtract", "math.divide", "whoami", "log"].every((m) => methods.includes(m)), `the calculator's methods are listed: ${methods.join(", ")}`);
  check((await calculator.textContent("#title")).startsWith("Calculator"), "the service's title is shown");

  await callMethod(calculator, "math.divide", { a: "1", b: "0" });
  const code = await calculator.textContent("#outcome .error .code");
  check(code === "4000", `math.divide by zero shows error ${code}`);
  check((await calculator.textContent("#outcome .error")).includes("division by zero"), "with its message");

  await callMethod(calculator, "subtract", { minuend: "42", subtrahend: "23" });
  await calculator.waitForSelector("#outcome .result");
  const result = await calculator.textContent("#outcome .result");
  check(result === "19", `subtract with 42 and 23 shows ${result}`);
  check(/answered in [\d.]+ ms/.test(await calculator.textContent("#elapsed")), "with the round-trip time");

  // A field that does not hold what its schema says is refused here.
  await callMethod(calculator, "subtract", { minuend: "4.5", subtrahend: "1" });
  check((await calculator.textContent(".hint")).includes("not an integer"), "a non-integer for an integer is refused before sending");
  await callMethod(calculator, "subtract", { minuend: "42", subtrahend: "23" });
  await calculator.waitForSelector("#outcome .result");
  calculator.verify();

  // The chat: a message to the room shows up as a notification.
  const chat = await open(args.chat);
  await chat.waitForSelector('#methods button[data-method="join"]');
  await callMethod(chat, "join", { room: "lobby", name: "ann" });
  await chat.waitForSelector("#outcome .result");
  await callMethod(chat, "say", { room: "lobby", text: "hello from the explorer" });
  await chat.waitForSelector('#notifications li[data-method="message"] pre:has-text("hello from the explorer")');
  check(true, "a chat message shows up as a notification");
  if (args.screenshot) {
    await chat.screenshot({ path: args.screenshot });
    console.log(`screenshot: ${args.screenshot}`);
  }
  chat.verify();

  // A server that needs a token: refused without, listed with.
  const tour = await open(args.tour);
  await tour.waitForSelector("#status.bad:has-text('could not connect')");
  check(true, "without a token the page says it could not connect");
  await tour.fill("#token", "guest-token");
  await tour.click("#connect");
  await tour.waitForSelector("#status.ok");
  await tour.waitForSelector("#methods button");
  const listed = async () => tour.$$eval("#methods button", (buttons) => buttons.map((b) => b.dataset.method));
  const guest = await listed();
  check(guest.includes("ping") && !guest.includes("export_report"), `with a guest's token, the methods it may call are listed: ${guest.join(", ")}`);
  await tour.fill("#token", "admin-token");
  await tour.click("#connect");
  await tour.waitForSelector('#methods button[data-method="export_report"]');
  check(true, "with an admin's token, export_report is listed too");
  await callMethod(tour, "export_report", { year: "2026" });
  await tour.waitForSelector("#outcome .result");
  check(true, "and it can be called");
  tour.verify();
} finally {
  await browser.close();
}
