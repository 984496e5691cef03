/** What the bench records from nats-server's monitoring port (/varz and /jsz). */
export interface NatsStats {
  cpuPercent: number;
  memBytes: number;
  inMsgs: number;
  outMsgs: number;
  slowConsumers: number;
  jsMessages: number;
  jsBytes: number;
}

/** Reads /varz and /jsz; zeros when the monitor does not answer (the run goes on). */
export async function natsStats(monitorPort: number): Promise<NatsStats> {
  const get = async (path: string) => {
    try {
      const r = await fetch(`http://127.0.0.1:${monitorPort}${path}`, { signal: AbortSignal.timeout(5_000) });
      return (await r.json()) as Record<string, number>;
    } catch {
      return {} as Record<string, number>;
    }
  };
  const [v, j] = await Promise.all([get('/varz'), get('/jsz')]);
  return {
    cpuPercent: v.cpu ?? 0,
    memBytes: v.mem ?? 0,
    inMsgs: v.in_msgs ?? 0,
    outMsgs: v.out_msgs ?? 0,
    slowConsumers: v.slow_consumers ?? 0,
    jsMessages: j.messages ?? 0,
    jsBytes: j.bytes ?? 0,
  };
}
