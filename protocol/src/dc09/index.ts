export * from './crc.js';
export * from './crypto.js';
export * from './timestamp.js';
export * from './frame.js';
export * from './messages.js';
export * from './contact-id.js';
export * from './sia.js';
