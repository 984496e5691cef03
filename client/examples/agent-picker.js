// The example pages' agent picker: the agents that have live workers right now, from the fabric
// (GET /v1/agents on the page's own gateway), never a hard-coded list. See docs/agent-pools.md.

/** One `<option>` per live agent; keeps the current choice when it is still live. */
export async function fillAgentPicker(select, preferred = 'builtin') {
  const r = await fetch('/v1/agents', { headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(`GET /v1/agents answered ${r.status}`);
  const { agents } = await r.json();
  const live = agents.filter((a) => a.liveWorkers > 0);
  const keep = select.value || preferred;
  select.replaceChildren(
    ...live.map((a) => {
      const o = document.createElement('option');
      o.value = a.agent;
      o.textContent = `${a.agent} · ${a.kind}`;
      return o;
    }),
  );
  select.value = live.some((a) => a.agent === keep) ? keep : (live[0]?.agent ?? '');
  select.disabled = live.length === 0;
  select.title =
    live.length === 0 ? 'no agent has a live worker' : `${live.length} agent(s) with live workers`;
  select.dataset.agents = live.map((a) => a.agent).join(',');
  return live;
}

/** Fills the picker now, again whenever the user opens it, and every `everyMs`. */
export function watchAgentPicker(select, everyMs = 10_000) {
  const refresh = () => fillAgentPicker(select).catch((err) => console.warn('agent picker:', err.message));
  select.addEventListener('focus', refresh);
  setInterval(refresh, everyMs);
  return refresh();
}
