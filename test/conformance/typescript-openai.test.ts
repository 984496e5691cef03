import { typescriptOpenAi } from './drivers.js';
import { conformanceSuite } from './suite.js';

// The worker conformance suite (test/conformance/scenarios.ts) against the TypeScript worker's
// `openai` agent (a rerunning implementation, like the bridge) on the scripted model.
conformanceSuite(typescriptOpenAi);
