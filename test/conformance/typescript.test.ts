import { typescriptDriver } from './drivers.js';
import { conformanceSuite } from './suite.js';

// The worker conformance suite (test/conformance/scenarios.ts) against the TypeScript worker.
conformanceSuite(typescriptDriver);
