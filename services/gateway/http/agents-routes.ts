import type { AgentInfo, AgentList } from '../../../shared/protocol/index.js';
import type { AgentDirectory } from '../agents/agent-directory.js';
import { mayUseAgent, type Principal } from '../auth/principal.js';
import type { HttpRequestInfo, HttpResult } from '../transport/connection.js';
import { errorResult } from './http-session-stream.js';
import { agentOfModel } from './openai-compat-schema.js';

export interface AgentRoutesDeps {
  agents: AgentDirectory;
  /** The principal the access policy's HTTP filter attached (null: not authenticated). */
  principal: (req: HttpRequestInfo) => Principal | null | undefined;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };
const noPrincipal = (): HttpResult =>
  errorResult({ code: 'unauthenticated', message: 'credentials required', retryable: false });

/** The agents a principal may use (a token's allowed-agents claim narrows the list). */
function visible(d: AgentRoutesDeps, p: Principal): AgentInfo[] {
  return d.agents.list().filter((a) => mayUseAgent(p, a.agent));
}

/**
 * `GET /v1/agents`: every agent a pool declared, with its kind and live worker count
 * (`{"agents": [{agent, kind, liveWorkers, declaredAt}]}`), from the gateway's cached watch.
 */
export function agentsRoute(d: AgentRoutesDeps) {
  return (req: HttpRequestInfo): HttpResult => {
    const p = d.principal(req);
    if (!p) return noPrincipal();
    const body: AgentList = { agents: visible(d, p) };
    return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(body) };
  };
}

/**
 * `GET /v1/models`, OpenAI's list format: the agents with live workers, each as a model whose
 * id is the agent name (what `model` takes on /v1/chat/completions).
 */
export function modelsRoute(d: AgentRoutesDeps) {
  return (req: HttpRequestInfo): HttpResult => {
    const p = d.principal(req);
    if (!p) return noPrincipal();
    const data = visible(d, p)
      .filter((a) => a.liveWorkers > 0)
      .map((a) => ({
        id: a.agent,
        object: 'model',
        created: Math.floor(a.declaredAt / 1000),
        owned_by: 'streamfabric',
      }));
    return { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ object: 'list', data }) };
  };
}

/**
 * The check every OpenAI-compatible route makes before it opens a stream: a `model` that names
 * no agent any pool declared gets OpenAI's own 404 at once (never a stream that stays silent).
 * Resolves null when the model is fine.
 * @example
 * const notFound = await modelNotFound(agents, body.model);
 * if (notFound) return res.respond(notFound);
 */
export async function modelNotFound(agents: AgentDirectory, model: string): Promise<HttpResult | null> {
  const agent = agentOfModel(model);
  if (agent && (await agents.resolve(agent)).known) return null;
  return {
    status: 404,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      error: {
        message: `The model \`${model.slice(0, 200)}\` does not exist or you do not have access to it. GET /v1/models lists the models.`,
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      },
    }),
  };
}
