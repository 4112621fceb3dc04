// The explorer's forms for every kind of parameter, against the test server
// of tests/tests/integration/server/explorer_forms.rs (`describe`): node forms.mjs --url URL
import { callMethod, check, flags, launch, open } from "./browser.mjs";

const { url } = flags();
// JSON with its keys sorted, to compare objects whatever their key order.
const canonical = (value) => Array.isArray(value) ? `[${value.map(canonical).join(",")}]`
  : value && typeof value === "object"
    ? `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`
    : JSON.stringify(value);
if (!url) throw new Error("--url URL is required");
const browser = await launch();

try {
  const page = await open(browser, url);
  await page.waitForSelector('#methods button[data-method="describe"]');
  await page.click('#methods button[data-method="describe"]');
  const kinds = await page.$$eval("#params [name]", (inputs) =>
    Object.fromEntries(inputs.map((input) => [input.name, input.tagName.toLowerCase() + (input.type ? ":" + input.type : "")])));
  check(kinds.label === "input:text", `a string is a text field (${kinds.label})`);
  check(kinds.count === "input:number", `an integer is a number field (${kinds.count})`);
  check(kinds.visible === "select:select-one", `a boolean is a choice (${kinds.visible})`);
  check(kinds.unit === "select:select-one", `an enum is a choice (${kinds.unit})`);
  check(kinds.points === "textarea:textarea", `an array of objects is JSON (${kinds.points})`);
  check(kinds.note === "input:text", `an optional string is a text field (${kinds.note})`);
  const units = await page.$$eval("#param-unit option", (options) => options.map((o) => o.value));
  check(JSON.stringify(units) === '["cm","inch"]', `the enum's values are the choices: ${units}`);
  check((await page.textContent('label[for="param-note"]')).includes("(optional)"), "an optional param says so");

  // JSON that does not parse is refused before sending.
  await callMethod(page, "describe", { label: "a", count: "3", points: "[{\"x\": 1," }, { visible: "true", unit: "inch" });
  check((await page.textContent("#params .hint:not(:empty)")).includes("not valid JSON"), "bad JSON is refused before sending");
  check((await page.textContent("#outcome")) === "", "and nothing was sent");

  // Every kind, sent by name; the optional param left empty is left out.
  await page.fill("#param-points", '[{"x": 1, "y": 2.5}]');
  await page.click("#call");
  await page.waitForSelector("#outcome .result");
  const echoed = JSON.parse(await page.textContent("#outcome .result"));
  const expected = { label: "a", count: 3, visible: true, unit: "inch", points: [{ x: 1, y: 2.5 }], note: null };
  check(canonical(echoed) === canonical(expected), `the server got ${canonical(echoed)}`);
  await page.fill("#param-note", "hello");
  await page.click("#call");
  await page.waitForSelector('#outcome .result:has-text("hello")');
  check(true, "a filled optional param is sent");

  // Past 2^53 a browser cannot send an integer exactly: refused here.
  await page.fill("#param-count", "9007199254740993");
  await page.click("#call");
  check((await page.textContent("#params .hint:not(:empty)")).includes("too large"), "an integer past 2^53 is refused before sending");

  // What the page cannot know (u32 is not negative) the server refuses.
  await page.fill("#param-count", "-1");
  await page.click("#call");
  await page.waitForSelector("#outcome .error");
  check((await page.textContent("#outcome .error .code")) === "-32602", "an invalid value the page let through is Invalid params");
  // The server's strings (docs, error message, error data) are text.
  await callMethod(page, "markup");
  await page.waitForSelector("#outcome .error");
  check((await page.textContent("#method-docs")).includes("<img src=x"), "docs with markup are shown as text");
  check((await page.textContent("#outcome .error")).includes("<img src=x"), "an error message with markup is shown as text");
  check((await page.textContent("#outcome .data")).includes("<script>"), "error data with markup is shown as text");
  const injected = await page.evaluate(() => document.querySelectorAll("img, script:not([src])").length + (window.injected ? 1 : 0));
  check(injected === 0, "no element was made from the server's strings");
  page.verify();
} finally {
  await browser.close();
}
