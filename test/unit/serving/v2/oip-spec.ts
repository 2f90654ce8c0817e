import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule, { type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/*
 * `yaml` and `ajv` are not direct dependencies of Ferry: they are present through fastify and
 * @fastify/swagger. If that ever changes these imports fail loudly, which is the right signal to add
 * them as devDependencies.
 */

/**
 * A vendored copy of the Open Inference Protocol's OpenAPI file (Apache-2.0, KServe authors), so these
 * tests do not depend on ../shared; `SHARED_SPEC` is compared against it when present.
 */
export const VENDORED_SPEC = resolve(
  dirname(fileURLToPath(import.meta.url)),
  'fixtures/open_inference_rest.yaml',
);
export const SHARED_SPEC = resolve('../shared/specs/open-inference-protocol/open_inference_rest.yaml');
export const hasSharedSpec = existsSync(SHARED_SPEC);

interface OpenApiDoc {
  paths: Record<string, unknown>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

export const spec = parse(readFileSync(VENDORED_SPEC, 'utf8')) as OpenApiDoc;

// ajv is CommonJS; under NodeNext its default export arrives as the module object.
const Ajv = AjvModule.default;

/**
 * An Ajv that never coerces. Not strict by default, because the OpenAPI file has keywords of its own
 * (`x-examples`); strict mode is for checking our schemas have no typos.
 */
export function newAjv(strict = false): InstanceType<typeof Ajv> {
  return new Ajv({ strict, allErrors: true });
}

const specAjv = newAjv();
const SPEC_ID = 'https://ferry.local/open_inference_rest.json';
// The components keep their `#/components/schemas/...` refs, resolved against this one document.
specAjv.addSchema({ $id: SPEC_ID, components: spec.components });

/** A validator for one component of the OpenAPI file, e.g. `inference_response`. */
export function specValidator(component: string): ValidateFunction {
  const validate = specAjv.getSchema(`${SPEC_ID}#/components/schemas/${component}`);
  if (validate === undefined) throw new Error(`no component ${component} in the OpenAPI file`);
  return validate;
}
