import { afterAll, beforeAll } from 'vitest';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { resumeSuite } from './resume.suite.js';

let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 2, workers: 1 });
});
afterAll(async () => {
  await fabric?.stop();
});

resumeSuite(() => fabric);
