import pg from 'pg';

/**
 * Cameras of a company written straight into the cloud's database, as if added through Hik-Connect P2P: for pages that
 * need devices on a site but no device behind them (the handover list, the co-branding free year).
 */
export async function insertP2pDevices(databaseUrl: string, companyId: string, siteId: string, count: number): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    for (let i = 1; i <= count; i++) {
      const serial = `DSP2P${siteId.slice(0, 8).toUpperCase()}${i}`;
      await db.query(
        `INSERT INTO devices (company_id, site_id, device_key, kind, protocol, manufacturer, model, serial, short_serial, firmware, name, host, port,
                              access_mode, reported_online, reported_at, status)
         VALUES ($1, $2, $3, 'camera', 'isapi', 'hikvision', 'DS-2CD2143G2', $3, $4, 'V5.7.0', $5, '', 0, 'p2p', true, now(), 'online')`,
        [companyId, siteId, serial, serial.slice(-9), `Camera ${i}`],
      );
    }
  } finally {
    await db.end();
  }
}
