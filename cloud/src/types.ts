import type { Permission } from '@vigil/protocol/api';
import type { CloudContext } from './context.js';

/** Who is calling: resolved from the session cookie or a bearer token. */
export interface Auth {
  accountId: string;
  companyId: string;
  name: string;
  email: string;
  role: 'installer_admin' | 'installer' | 'vendor_admin' | 'customer';
  permissions: ReadonlySet<Permission>;
  client: 'portal' | 'api' | 'mobile';
  tokenHash: string;
}

/** What the operation log should say about the call; handlers fill in what they learn. */
export interface OplogDraft {
  siteId?: string | null;
  siteName?: string;
  target?: string;
  detail?: string;
  /** Overrides the route's declared action (a route whose action depends on the request). */
  action?: string;
  /** For calls made before anyone is signed in (registration, login): who they concern (no account yet: a join request). */
  actor?: { accountId: string | null; companyId: string; name: string; email: string };
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: CloudContext;
  }
  interface FastifyRequest {
    auth: Auth | null;
    oplog: OplogDraft;
  }
  interface FastifyContextConfig {
    /** Reachable without signing in. Every other /api route refuses anonymous calls. */
    public?: boolean;
    /** The operation-log action of a state-changing route ("Add Site"), or false when it changes nothing worth a line. */
    oplog?: string | false;
  }
}
