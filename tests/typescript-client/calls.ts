// Calls the calculator with the generated client, over WebSocket and HTTP,
// by position and by name: node build/calls.js HOST PORT
import Calculator from "./generated/calculator/src";

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`failed: ${what}`);
  console.log(`ok: ${what}`);
}

async function calls(type: "websocket" | "http", host: string, port: number): Promise<void> {
  const calculator = new Calculator({ transport: { type, host, port } });
  // By position: the generated methods.
  check((await calculator.subtract(42, 23)) === 19, `${type}: subtract(42, 23) is 19`);
  check((await calculator.add(2, 3)) === 5, `${type}: add(2, 3) is 5`);
  check((await calculator["math.divide"](1, 4)) === 0.25, `${type}: math.divide(1, 4) is 0.25`);
  check((await calculator.log("from TypeScript")) === null, `${type}: log answers null`);
  // By name: the generated client's own JSON-RPC client.
  const byName = await calculator.rpc.request({ method: "subtract", params: { subtrahend: 23, minuend: 42 } });
  check(byName === 19, `${type}: subtract by name is 19`);
  // An error reaches the caller with its code.
  try {
    await calculator["math.divide"](1, 0);
    check(false, `${type}: math.divide(1, 0) fails`);
  } catch (error) {
    const code = (error as { code?: number }).code;
    check(code === 4000, `${type}: math.divide(1, 0) fails with code ${code}`);
  }
  // The generated client checks params against the schemas before sending.
  try {
    await calculator.subtract(1.5 as number, 2);
    check(false, `${type}: a non-integer is refused`);
  } catch (errors) {
    check(Array.isArray(errors) && errors.length > 0, `${type}: a non-integer is refused before sending`);
  }
  calculator.rpc.close();
}

async function main(): Promise<void> {
  const [host, port] = process.argv.slice(2);
  await calls("websocket", host, Number(port));
  await calls("http", host, Number(port));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
