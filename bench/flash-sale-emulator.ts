/** The emulator in its own process for bench/flash-sale: prints its URL, runs until killed. */
import { startEmulator } from '../src/shopify/emulator/index.js';

const running = await startEmulator({ port: 0, defaultPlan: 'enterprise', logger: false });
process.stdout.write(`emulator-url ${running.url}\n`);
