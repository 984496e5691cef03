import { afterAll, beforeAll } from 'vitest';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { verticalSliceSuite } from './vertical-slice.suite.js';

let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 2, workers: 2 });
});
afterAll(async () => {
  await fabric?.stop();
});

verticalSliceSuite(() => fabric);
