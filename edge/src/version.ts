/** Reported in status and edge.info; kept in step with edge/package.json. */
export const AGENT_VERSION = '0.1.0';
