import Type from 'typebox';

/** Path parameters several domains share: a site's id, and the id of the object a route names. */
export const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
