export { EntraClaim, EntraIdSimulator, readAutoPostForm, type EntraUser, type EntraUserKind, type SignedResponseOptions } from './entra.js';
export { ScimClient, type ScimReply } from './scim-client.js';
