import Type, { type Static } from 'typebox';
import { IsoDateSchema, PageQuerySchema, UuidSchema } from './common.js';

export const OperationClient = { portal: 'portal', api: 'api', system: 'system' } as const;
export type OperationClient = (typeof OperationClient)[keyof typeof OperationClient];

export const OperationLogEntrySchema = Type.Object({
  id: Type.String(),
  at: IsoDateSchema,
  accountId: Type.Union([UuidSchema, Type.Null()]),
  accountName: Type.String(),
  accountEmail: Type.String(),
  client: Type.String(),
  siteId: Type.Union([UuidSchema, Type.Null()]),
  siteName: Type.String(),
  target: Type.String(),
  /** The manual's wording: "{Action} Succeeded" or "{Action} Failed". */
  content: Type.String(),
  result: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
  detail: Type.String(),
});
export type OperationLogEntry = Static<typeof OperationLogEntrySchema>;

export const OperationLogQuerySchema = Type.Object({
  ...PageQuerySchema.properties,
  from: Type.Optional(IsoDateSchema),
  to: Type.Optional(IsoDateSchema),
  siteId: Type.Optional(UuidSchema),
  accountId: Type.Optional(UuidSchema),
});
export type OperationLogQuery = Static<typeof OperationLogQuerySchema>;

export const OperationLogListSchema = Type.Object({ items: Type.Array(OperationLogEntrySchema), total: Type.Integer() });
export type OperationLogList = Static<typeof OperationLogListSchema>;
