/**
 * Kubernetes resource quantities, the one parser: deploy-options checks them with it, and the
 * renderers (Kubernetes requests, Lambda's MemorySize) convert them with it.
 */
const MEMORY = /^([0-9]+)(Ki|Mi|Gi|Ti|K|M|G|T)?$/;
const MEMORY_FACTOR: Record<string, number> = {
  '': 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};
/** CPU: cores (`1`, `0.5`) or millicores (`500m`). */
const CPU = /^(?:[0-9]+(?:\.[0-9]{1,3})?|[0-9]+m)$/;

/** A memory quantity in bytes; undefined when it is not one (`512mb`, `1Pi`). */
export function memoryBytes(quantity: string): number | undefined {
  const m = MEMORY.exec(quantity);
  return m ? Number(m[1]) * (MEMORY_FACTOR[m[2] ?? ''] ?? 1) : undefined;
}

/** A CPU quantity in millicores (`1` → 1000, `0.5` → 500, `250m` → 250); undefined when it is not one. */
export function cpuMillis(quantity: string): number | undefined {
  if (!CPU.test(quantity)) return undefined;
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Math.round(Number(quantity) * 1000);
}
