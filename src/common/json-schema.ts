import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: the types see its default import as the module, at run time it is the plugin.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** One way a value breaks a JSON Schema. */
export interface SchemaViolation {
  /** JSON Pointer into the value; empty for the whole. */
  path: string;
  message: string;
}

/** An ajv that reports every violation and knows the standard formats (email, date-time, uri ...). */
export function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

/** A violation as the API reports it, naming the extra property or the allowed values. */
export function toViolation(error: ErrorObject): SchemaViolation {
  const params = error.params as Record<string, unknown>;
  const extra =
    error.keyword === 'additionalProperties'
      ? ` (${String(params.additionalProperty)})`
      : error.keyword === 'enum'
        ? `: ${JSON.stringify(params.allowedValues)}`
        : '';
  return { path: error.instancePath, message: `${error.message ?? error.keyword}${extra}` };
}
