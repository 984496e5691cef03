import { ensurePython } from '../../scripts/topology/bridge-process.js';
import { ag2Driver } from './drivers.js';
import { conformanceSuite } from './suite.js';

// The worker conformance suite (test/conformance/scenarios.ts) against the bridge's AG2-classic adapter.
ensurePython();
conformanceSuite(ag2Driver);
