import { ensurePython } from '../../scripts/topology/bridge-process.js';
import { agentFrameworkDriver } from './drivers.js';
import { conformanceSuite } from './suite.js';

// The worker conformance suite (test/conformance/scenarios.ts) against the bridge's Agent Framework adapter.
ensurePython();
conformanceSuite(agentFrameworkDriver);
