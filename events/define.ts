/**
 * An event type: its name, what it means, and the JSON Schema (draft 2020-12) its `data`
 * must satisfy. `events/` is the contract writers append against and projections consume;
 * it is pure data, so browsers, tools and other languages can read it too.
 */
export interface EventType<TData = unknown> {
  /** Past tense (`OrderPlaced`): an event records what happened. */
  readonly type: string;
  readonly description: string;
  readonly schema: Readonly<Record<string, unknown>>;
  /** Type-level only: the data's TypeScript shape. */
  readonly _data?: TData;
}

export function defineEventType<TData>(definition: { type: string; description: string; schema: Record<string, unknown> }): EventType<TData> {
  return Object.freeze({ ...definition, schema: Object.freeze(definition.schema) });
}

/** Streams whose id starts with this belong to Annal itself: the API refuses appends to them. */
export const SYSTEM_STREAM_PREFIX = "annal:";
