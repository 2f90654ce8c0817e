/**
 * `ferry/lambda`: the model server as an AWS Lambda handler. The serving app of `ferry serve`
 * (src/serving/http/build-server.ts) answers API Gateway HTTP API (payload 2.0) and REST API
 * events, function URL events and ALB events through @fastify/aws-lambda, which turns each event
 * into an in-process request (no socket). The model is loaded once per container, at init, and
 * reused by every warm invocation. docs/deployment/lambda.md.
 */
import awsLambdaFastify from '@fastify/aws-lambda';
import type { Context } from 'aws-lambda';
import { toFerryError } from '../core/errors.js';
import { type EventSource, errorResult, eventSource, forAlb, type LambdaResult } from './events.js';
import {
  type LambdaServing,
  type LambdaServingOptions,
  lambdaOptionsFromEnv,
  openLambdaServing,
} from './lambda-serving.js';

export type { BundledModelManifest, LambdaModelSource } from './bundled-model.js';
export type { EventSource, LambdaResult } from './events.js';
export type { LambdaServing, LambdaServingOptions } from './lambda-serving.js';
export { lambdaOptionsFromEnv, openLambdaServing };

/** A handler Lambda calls with (event, context); `ready()` opens the server now (at init). */
export interface FerryLambdaHandler {
  (event: unknown, context?: unknown): Promise<LambdaResult>;
  /** Loads the model and builds the server once; later calls (and invocations) share it. */
  ready(): Promise<LambdaServing>;
}

type Proxy = (event: unknown, context: Context) => Promise<LambdaResult>;

interface Opened {
  serving: LambdaServing;
  /** Single-value events (HTTP API, function URLs, REST API, ALB without multi-value headers). */
  proxy: Proxy;
  /** ALB with multi-value headers: the event's headers are in `multiValueHeaders` only. */
  albMultiProxy: Proxy;
}

async function open(options: LambdaServingOptions): Promise<Opened> {
  const serving = await openLambdaServing(options);
  // decorateRequest off: the routes never read the raw event, and two proxies may not both decorate.
  const proxy = awsLambdaFastify(serving.app, { decorateRequest: false }) as Proxy;
  const albMultiProxy = awsLambdaFastify(serving.app, {
    decorateRequest: false,
    albMultiValueHeaders: true,
  }) as Proxy;
  return { serving, proxy, albMultiProxy };
}

function requestIdOf(event: unknown): string | undefined {
  const id = (event as { requestContext?: { requestId?: unknown } }).requestContext?.requestId;
  return typeof id === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : undefined;
}

async function answer(opened: Opened, event: unknown, context: Context): Promise<LambdaResult> {
  const source: EventSource | undefined = eventSource(event);
  if (source === undefined)
    return errorResult(
      400,
      'not an API Gateway (HTTP API 2.0 or REST API), function URL or ALB request event',
    );
  // An HTTP API stage other than $default prefixes rawPath with its name (`/prod/predict`); the
  // routes are the server's, so the prefix goes (REST API events carry the path without it).
  const stage = (event as { requestContext?: { stage?: unknown } }).requestContext?.stage;
  const rawPath = (event as { rawPath?: unknown }).rawPath;
  if (
    (source === 'http-api-v2' || source === 'function-url') &&
    typeof stage === 'string' &&
    stage !== '$default' &&
    typeof rawPath === 'string' &&
    rawPath.startsWith(`/${stage}/`)
  )
    event = { ...(event as object), rawPath: rawPath.slice(stage.length + 1) };
  const albMulti = source === 'alb' && (event as { multiValueHeaders?: unknown }).multiValueHeaders != null;
  let result: LambdaResult;
  try {
    result = await (albMulti ? opened.albMultiProxy : opened.proxy)(event, context);
  } catch (e) {
    // The adapter throws on what it cannot turn into a request (a malformed percent-encoding in an
    // ALB query): the caller's mistake, answered without the exception's text or stack.
    if (e instanceof URIError)
      return errorResult(
        400,
        'the request URL or query string is not valid percent-encoding',
        requestIdOf(event),
      );
    opened.serving.app.log.error({ err: toFerryError(e) }, 'the Lambda event could not be answered');
    return errorResult(500, 'internal error', requestIdOf(event));
  }
  return source === 'alb' ? forAlb(result, albMulti) : result;
}

/**
 * A handler over `options` (or a function giving them, read at the first call or `ready()`). A failed
 * init is thrown to Lambda (the invocation fails and the error is in the function's log) and tried
 * again at the next invocation, so a download that failed once does not keep the container broken.
 */
export function createLambdaHandler(
  options: LambdaServingOptions | (() => LambdaServingOptions),
): FerryLambdaHandler {
  let opening: Promise<Opened> | undefined;
  const init = (): Promise<Opened> => {
    opening ??= Promise.resolve()
      .then(() => open(typeof options === 'function' ? options() : options))
      .catch((e: unknown) => {
        opening = undefined;
        throw e;
      });
    return opening;
  };
  const handler = async (event: unknown, context?: unknown): Promise<LambdaResult> =>
    answer(await init(), event, (context ?? {}) as Context);
  return Object.assign(handler, { ready: async () => (await init()).serving });
}

/** The handler configured from the environment (lambdaOptionsFromEnv); the model loads at the first call or `handler.ready()`. */
export const handler: FerryLambdaHandler = createLambdaHandler(() => lambdaOptionsFromEnv(process.env));
