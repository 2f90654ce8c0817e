/** Shared pieces of the canary and shadow tests: deliberately faulty model versions and request drivers. */

import type { Model, Prediction, TextInput, TextModel } from '../../src/model/model.js';
import { textInputsOf, textOutputs } from '../../src/model/text-tensors.js';
import { EXAMPLE_PROJECTS } from '../../src/serving/warmup-inputs.js';
import { ADMIN_TOKEN, type TestServer } from '../helpers/serving.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

export type Fault =
  /** Every predict throws. */
  | { kind: 'error' }
  /** Each batch takes `ms` longer: busy (CPU) in predictBatch, asleep in the asynchronous predict. */
  | { kind: 'slow'; ms: number }
  /** Answers `label` for every item (a candidate that always differs from production). */
  | { kind: 'label'; label: string };

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spinning on purpose: a CPU-heavy model
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An openServing `wrapModel` that makes `version` of every model faulty. The host's warm-up (the
 * EXAMPLE_PROJECTS array itself) is left alone, or a throwing version could never be loaded.
 */
export function faultyVersion(version: number, fault: Fault) {
  return (_name: string, v: number, wrapped: Model): Model => {
    if (v !== version) return wrapped;
    const model = wrapped as TextModel;
    const warmup = (rows: readonly TextInput[]) => rows === EXAMPLE_PROJECTS;
    const relabel = (rows: readonly TextInput[], label: string): Prediction[] =>
      rows.map(() => ({ prediction: label, probabilities: { [label]: 1 } }));
    const faulty: TextModel = {
      kind: model.kind,
      signature: model.signature,
      classes: model.classes,
      toArtifact: () => model.toArtifact(),
      predictBatch(rows) {
        if (warmup(rows)) return model.predictBatch(rows);
        if (fault.kind === 'error') throw new Error(`version ${version} is deliberately faulty`);
        if (fault.kind === 'label') return relabel(rows, fault.label);
        busyWait(fault.ms);
        return model.predictBatch(rows);
      },
      async infer(inputs) {
        return textOutputs(model.classes, await this.predict(textInputsOf(inputs)));
      },
      async predict(rows) {
        if (fault.kind === 'error') throw new Error(`version ${version} is deliberately faulty`);
        if (fault.kind === 'label') return relabel(rows, fault.label);
        await sleep(fault.ms);
        return model.predictBatch(rows);
      },
    };
    return faulty;
  };
}

export function post(server: TestServer, url: string, payload?: object) {
  return server.app.inject({
    method: 'POST',
    url,
    headers: auth,
    ...(payload !== undefined ? { payload } : {}),
  });
}

export async function analysis<T>(server: TestServer, name: string): Promise<T> {
  const res = await server.app.inject({ method: 'GET', url: `/v1/experiments/${name}`, headers: auth });
  if (res.statusCode !== 200) throw new Error(`GET ${name}: ${res.statusCode} ${res.body}`);
  return res.json() as T;
}

export function predict(server: TestServer, input: TextInput, unit?: string) {
  return server.app.inject({
    method: 'POST',
    url: '/predict',
    payload: input as unknown as Record<string, unknown>,
    headers: unit !== undefined ? { 'x-ferry-unit': unit } : {},
  });
}

export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}
