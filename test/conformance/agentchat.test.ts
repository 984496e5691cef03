import { ensurePython } from '../../scripts/topology/bridge-process.js';
import { agentchatDriver } from './drivers.js';
import { conformanceSuite } from './suite.js';

// The worker conformance suite (test/conformance/scenarios.ts) against the bridge's AgentChat adapter.
ensurePython();
conformanceSuite(agentchatDriver);
