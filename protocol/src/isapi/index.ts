/** The device HTTP API (ISAPI-style): Digest authentication, resources and their XML bodies, password policy. */
export * from './digest.js';
export * from './password.js';
export * from './messages.js';
export * from './vlan.js';
export * from './panel.js';
export * from './content-search.js';
export * from './admin-access.js';
export * from './alert-stream.js';
