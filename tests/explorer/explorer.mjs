// Drives the API explorer of running examples in headless Chromium:
//   node explorer.mjs --calculator URL --chat URL --tour URL --mounted URL [--screenshot FILE]
// (--mounted: an endpoint mounted under a path in an axum app, e.g. http://HOST/rpc)
// Exits 0 when every check passes; says what failed otherwise.
import { callMethod, check, flags, launch, open as openPage } from "./browser.mjs";

const args = flags();
for (const name of ["calculator", "chat", "tour", "mounted"]) {
  if (!args[name]) throw new Error(`--${name} URL is required`);
}
const browser = await launch();
const open = (base) => openPage(browser, base);

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
  // A boolean is a choice; an error's data is shown.
  await callMethod(tour, "mymodule.rpc.ping", {}, { fake_an_error: "true" });
  await tour.waitForSelector("#outcome .error");
  check((await tour.textContent("#outcome .data")).includes("fake_error"), "a boolean param, and an error's data, are shown");
  await callMethod(tour, "mymodule.rpc.ping", {}, { fake_an_error: "false" });
  await tour.waitForSelector("#outcome .result");
  check((await tour.textContent("#outcome .result")) === '"pong"', "false is sent as false");
  await tour.fill("#token", "admin-token");
  await tour.click("#connect");
  await tour.waitForSelector('#methods button[data-method="export_report"]');
  check(true, "with an admin's token, export_report is listed too");
  await callMethod(tour, "export_report", { year: "2026" });
  await tour.waitForSelector("#outcome .result");
  check(true, "and it can be called");
  tour.verify();

  // Mounted under /rpc in an axum app: the page, its assets and its
  // WebSocket are found under that prefix (also from /rpc/explorer/).
  const mounted = await openPage(browser, args.mounted, "/explorer/");
  check(new URL(mounted.url()).pathname === "/rpc/explorer", `/rpc/explorer/ leads to /rpc/explorer (${mounted.url()})`);
  await callMethod(mounted, "subtract", { minuend: "5", subtrahend: "3" });
  await mounted.waitForSelector("#outcome .result");
  check((await mounted.textContent("#outcome .result")) === "2", "the mounted endpoint answers the page's call");
  mounted.verify();
} finally {
  await browser.close();
}
