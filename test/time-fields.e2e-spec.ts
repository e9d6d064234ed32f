import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  allOf?: Schema[];
}

interface Operation {
  parameters?: { name: string; in: string; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/** One time field of the API: where it goes, and the dotted path that names it in errors. */
interface TimeField {
  method: string;
  path: string;
  in: 'query' | 'body';
  /** `from`, or `events.0.occurredAt` for a field inside an array. */
  name: string;
}

const BAD_TIMES = [
  '1',
  '12/25/2026',
  '2026-11-24',
  '2026-11-24T10:00:00',
  '2026-02-30T00:00:00Z',
  'tomorrow',
];
const GOOD_TIME = '2026-11-24T11:00:00+01:00';

/** Every query parameter and body property with `format: date-time`, nested ones included. */
function timeFields(doc: OpenApi): TimeField[] {
  const resolve = (schema: Schema): Schema =>
    schema.$ref ? resolve(doc.components.schemas[schema.$ref.split('/').pop()!]) : schema;
  const inBody = (schema: Schema, prefix: string, depth: number): string[] => {
    const resolved = resolve(schema);
    if (depth > 4) return [];
    if (resolved.format === 'date-time') return [prefix];
    if (resolved.type === 'array' && resolved.items) return inBody(resolved.items, `${prefix}.0`, depth + 1);
    const properties = {
      ...resolved.properties,
      ...Object.assign({}, ...(resolved.allOf ?? []).map((s) => resolve(s).properties)),
    } as Record<string, Schema>;
    return Object.entries(properties).flatMap(([key, value]) =>
      inBody(value, prefix ? `${prefix}.${key}` : key, depth + 1),
    );
  };
  const fields: TimeField[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'query' && parameter.schema && resolve(parameter.schema).format === 'date-time')
          fields.push({ method, path, in: 'query', name: parameter.name });
      }
      const body = operation.requestBody?.content['application/json']?.schema;
      if (body) for (const name of inBody(body, '', 0)) fields.push({ method, path, in: 'body', name });
    }
  }
  return fields;
}

/** `{ events: [{ occurredAt: value }] }` for `events.0.occurredAt`. */
function bodyWith(name: string, value: string): unknown {
  const [head, ...rest] = name.split('.');
  const inner = rest.length === 0 ? value : bodyWith(rest.join('.'), value);
  return /^\d+$/.test(head) ? [inner] : { [head]: inner };
}

describe('times in requests', () => {
  let t: TestApp;
  let fields: TimeField[];

  beforeAll(async () => {
    t = await startTestApp();
    fields = timeFields((await t.http().get('/docs-json').expect(200)).body as OpenApi);
  });
  afterAll(() => t.close());

  function send(field: TimeField, value: string) {
    const url = field.path.replace(/\{[^}]+\}/g, '019abc12-3def-7456-89ab-cdef01234567');
    const call = t
      .http()
      [field.method as 'get' | 'post' | 'patch' | 'put' | 'delete'](url)
      .set(bearer(ADMIN_KEY));
    return field.in === 'query'
      ? call.query({ [field.name]: value })
      : call.send(bodyWith(field.name, value) as object);
  }

  /**
   * Whether the answer refuses the value, naming the field: a 400, or for a batch (which answers
   * 200 with a result per item) the item's 400, whose messages name the field within the item.
   */
  function refusesNaming(field: TimeField, response: { status: number; body: Record<string, unknown> }) {
    const item = (
      response.body.items as { status: number; error?: { details?: string[] } }[] | undefined
    )?.[0];
    const [status, details, name] = item
      ? [item.status, item.error?.details ?? [], field.name.split('.').pop()!]
      : [response.status, (response.body.details ?? []) as string[], field.name];
    const named = details.some((message) =>
      message.startsWith(`${name} must be an ISO 8601 time with a time zone`),
    );
    return { refused: status === 400 && named, named };
  }

  it('finds the time fields in the OpenAPI document', () => {
    const names = fields.map((field) => `${field.method.toUpperCase()} ${field.path} ${field.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /jobs from',
        'DELETE /jobs before',
        'POST /events occurredAt',
        'POST /events/batch events.0.occurredAt',
        'GET /stock at',
        'POST /arrivals dtExecution',
        'POST /accounts/{accountId}/api-keys expiresAt',
      ]),
    );
  });

  it('refuses every form but ISO 8601 with a time zone at every time field, naming the field', async () => {
    const accepted: string[] = [];
    for (const field of fields) {
      for (const bad of BAD_TIMES) {
        const response = await send(field, bad);
        if (!refusesNaming(field, response).refused)
          accepted.push(`${field.method} ${field.path} ${field.name}=${bad}: ${response.status}`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('takes a time with a zone offset at every time field', async () => {
    const refused: string[] = [];
    for (const field of fields) {
      const response = await send(field, GOOD_TIME);
      if (refusesNaming(field, response).named) refused.push(`${field.method} ${field.path} ${field.name}`);
    }
    expect(refused).toEqual([]);
  });
});
