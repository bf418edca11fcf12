import { TeiError } from './errors.js';

/** TEI's gRPC PredictPair check: one or two texts, else Validation with TEI's message. */
export function predictPairInputs(inputs: readonly string[]): [string] | [string, string] {
  if (inputs.length < 1 || inputs.length > 2) {
    throw new TeiError(
      'Validation',
      `\`inputs\` must have a single or two elements. Given: ${inputs.length}`,
    );
  }
  return inputs as [string] | [string, string];
}
