/** What every TEI-style route shares: model selection and the router's own client batch limit. */
import type { Pipeline } from '../../pipeline/index.js';
import { TeiError } from '../../tei/errors.js';
import type { HttpCtx } from './types.js';

/**
 * Inputs one request may carry. The router splits batches for its backends, so this is its own limit, reported
 * as /info max_client_batch_size; 4096 is the coalescer's row cap.
 */
export const ROUTER_MAX_CLIENT_BATCH_SIZE = 4096;

/**
 * Model selection for TEI routes: `x-model` header, then `?model=`, then the default model; then the [[authz]]
 * check of the caller against that model.
 */
export function modelOf(ctx: HttpCtx, pipeline: Pipeline, requested?: string | null): string {
  const model = pipeline.resolveModel(requested ?? ctx.headers['x-model'] ?? ctx.query.get('model'));
  ctx.authorizeModel(model);
  return model;
}

/** TEI's batch-size rejection, against the router's limit. */
export function checkBatchSize(n: number): void {
  if (n > ROUTER_MAX_CLIENT_BATCH_SIZE) {
    throw new TeiError(
      'Validation',
      `batch size ${n} > maximum allowed batch size ${ROUTER_MAX_CLIENT_BATCH_SIZE}`,
    );
  }
}
