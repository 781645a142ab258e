export * from './common.js';
export * from './permissions.js';
export * from './auth.js';
export * from './sites.js';
export * from './edges.js';
export * from './devices.js';
export * from './operation-log.js';
export * from './lan.js';
export type * from './live.js';
