import { Validator } from '@cfworker/json-schema';
import type { OutputUnit, Schema } from '@cfworker/json-schema';
import { toErrorSchema } from '@rjsf/utils';
import type { RJSFSchema, RJSFValidationError, ValidationData, ValidatorType } from '@rjsf/utils';

/**
 * rjsf's validator, on @cfworker/json-schema: it walks schemas instead of compiling them to code
 * as ajv (rjsf's validator-ajv8) does with `new Function`, which the dashboard's
 * Content-Security-Policy (script-src 'self', no eval) forbids. The API checks everything again
 * with ajv, and its refusals are shown at their fields too.
 */

/** Keywords whose error only says that something inside failed: the inner error says what. */
const WRAPPERS = new Set([
  'properties',
  'additionalProperties',
  'patternProperties',
  'items',
  '$ref',
  'allOf',
]);
/** The draft ajv uses on the server. */
const DRAFT = '7';

const validators = new WeakMap<object, Validator>();

function validatorOf(schema: RJSFSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) validators.set(schema, (validator = new Validator(schema as Schema, DRAFT, false)));
  return validator;
}

function pointer(location: string): string[] {
  return location
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((part) => decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** What a keyword's error means, in the words of a form, with the schema's value for it. */
function phrase(unit: OutputUnit, schema: RJSFSchema): string {
  const value = pointer(unit.keywordLocation).reduce<unknown>(
    (at, part) => (at as Record<string, unknown> | undefined)?.[part],
    schema,
  );
  const shown = Array.isArray(value) ? value.map(String).join(' or ') : String(value);
  switch (unit.keyword) {
    case 'required':
      return 'is required';
    case 'false':
      return 'is not a field of this config';
    case 'type':
      return `must be ${shown}`;
    case 'pattern':
      return `must match ${shown}`;
    case 'format':
      return `must be a valid ${shown}`;
    case 'minLength':
      return Number(value) === 1 ? 'must not be empty' : `must be at least ${shown} characters`;
    case 'maxLength':
      return `must be at most ${shown} characters`;
    case 'minimum':
      return `must be ≥ ${shown}`;
    case 'maximum':
      return `must be ≤ ${shown}`;
    case 'enum':
      return `must be one of: ${(value as unknown[]).map(String).join(', ')}`;
    default:
      return unit.error;
  }
}

function problems(schema: RJSFSchema, formData: unknown): RJSFValidationError[] {
  return validatorOf(schema)
    .validate(formData)
    .errors.filter(
      // Not the wrappers, and not each alternative's own errors: anyOf/oneOf's error says it.
      (unit) => !WRAPPERS.has(unit.keyword) && !/\/(anyOf|oneOf|not)\/\d*/.test(unit.keywordLocation),
    )
    .map((unit) => {
      const path = pointer(unit.instanceLocation);
      // A missing property is reported on its object: show it at the property's own field.
      const missing = unit.keyword === 'required' ? /property "(.+)"/.exec(unit.error)?.[1] : undefined;
      if (missing !== undefined) path.push(missing);
      const message = phrase(unit, schema);
      return {
        name: unit.keyword,
        property: path.length > 0 ? `.${path.join('.')}` : '.',
        message,
        stack: `${path.join('.') || 'config'} ${message}`,
      };
    });
}

export const schemaValidator: ValidatorType = {
  validateFormData(formData, schema): ValidationData<unknown> {
    const errors = problems(schema, formData);
    return { errors, errorSchema: toErrorSchema(errors) };
  },
  isValid(schema, formData) {
    return validatorOf(schema).validate(formData).valid;
  },
  rawValidation<Result>(schema: RJSFSchema, formData?: unknown) {
    return { errors: validatorOf(schema).validate(formData).errors as Result[] };
  },
};
