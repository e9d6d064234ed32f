import { toErrorSchema } from '@rjsf/utils';
import type { RJSFSchema, RJSFValidationError, ValidationData, ValidatorType } from '@rjsf/utils';

/**
 * A JSON Schema validator for rjsf that reads schemas instead of compiling them. Ajv (rjsf's
 * validator-ajv8) compiles each schema to a function with `new Function`, which the dashboard's
 * Content-Security-Policy (script-src 'self', no eval) forbids, and it would weigh a sixth of the
 * JavaScript budget. The keywords of the providers' config schemas are checked here so that most
 * mistakes show before sending; the API checks everything again with ajv and its refusals are
 * shown at their fields too.
 */
type Schema = RJSFSchema | boolean;
interface Violation {
  path: string[];
  message: string;
  keyword: string;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

function resolve(schema: Schema, root: RJSFSchema): Schema {
  if (typeof schema === 'object' && typeof schema.$ref === 'string' && schema.$ref.startsWith('#')) {
    let target: unknown = root;
    for (const part of schema.$ref.slice(1).split('/').filter(Boolean))
      target = (target as Record<string, unknown> | undefined)?.[
        decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~')
      ];
    return resolve(target ?? true, root);
  }
  return schema;
}

function validate(input: Schema, value: unknown, path: string[], root: RJSFSchema, out: Violation[]): void {
  const schema = resolve(input, root);
  if (schema === true) return;
  if (schema === false) {
    out.push({ path, message: 'is not allowed', keyword: 'false' });
    return;
  }
  const fail = (keyword: string, message: string, at = path) => out.push({ path: at, message, keyword });
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length > 0 && !types.some((type) => hasType(value, type))) {
    fail('type', `must be ${types.join(' or ')}`);
    return;
  }
  if (schema.enum && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value)))
    fail('enum', `must be one of: ${schema.enum.map(String).join(', ')}`);
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value))
    fail('const', `must be ${JSON.stringify(schema.const)}`);

  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      fail('minLength', `must be at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      fail('maxLength', `must be at most ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      fail('pattern', `must match ${schema.pattern}`);
    if ((schema.format === 'uri' || schema.format === 'url') && !URL.canParse(value))
      fail('format', 'must be a URL');
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      fail('minimum', `must be ≥ ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      fail('maximum', `must be ≤ ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum)
      fail('exclusiveMinimum', `must be > ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum)
      fail('exclusiveMaximum', `must be < ${schema.exclusiveMaximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      fail('minItems', `must have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      fail('maxItems', `must have at most ${schema.maxItems} items`);
    if (schema.items !== undefined && !Array.isArray(schema.items))
      value.forEach((item, index) =>
        validate(schema.items as Schema, item, [...path, String(index)], root, out),
      );
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? [])
      if (object[name] === undefined) fail('required', 'is required', [...path, name]);
    const properties = schema.properties ?? {};
    for (const [name, item] of Object.entries(object)) {
      if (item === undefined) continue;
      const at = [...path, name];
      if (schema.propertyNames !== undefined) validate(schema.propertyNames, name, at, root, out);
      if (name in properties) validate(properties[name], item, at, root, out);
      else if (schema.additionalProperties === false)
        fail('additionalProperties', 'is not a field of this config', at);
      else if (schema.additionalProperties !== undefined)
        validate(schema.additionalProperties, item, at, root, out);
    }
  }

  const passes = (sub: Schema) => {
    const found: Violation[] = [];
    validate(sub, value, path, root, found);
    return found.length === 0;
  };
  for (const sub of schema.allOf ?? []) validate(sub, value, path, root, out);
  if (schema.anyOf && !schema.anyOf.some(passes)) fail('anyOf', 'must match one of the allowed forms');
  if (schema.oneOf && schema.oneOf.filter(passes).length !== 1)
    fail('oneOf', 'must match exactly one of the allowed forms');
  if (schema.not !== undefined && passes(schema.not)) fail('not', 'is not allowed');
  if (schema.if !== undefined) {
    const branch = passes(schema.if) ? schema.then : schema.else;
    if (branch !== undefined) validate(branch, value, path, root, out);
  }
}

function violations(schema: RJSFSchema, value: unknown): Violation[] {
  const out: Violation[] = [];
  validate(schema, value, [], schema, out);
  return out;
}

export const schemaValidator: ValidatorType = {
  validateFormData(formData, schema): ValidationData<unknown> {
    const errors: RJSFValidationError[] = violations(schema, formData).map(({ path, message, keyword }) => ({
      name: keyword,
      property: path.length > 0 ? `.${path.join('.')}` : '.',
      message,
      stack: `${path.join('.') || 'config'} ${message}`,
    }));
    return { errors, errorSchema: toErrorSchema(errors) };
  },
  isValid(schema, formData, rootSchema) {
    const out: Violation[] = [];
    validate(schema, formData, [], rootSchema, out);
    return out.length === 0;
  },
  rawValidation<Result>(schema: RJSFSchema, formData?: unknown) {
    return { errors: violations(schema, formData) as Result[] };
  },
};
