import { companyApi } from './company';

/** The unread count next to the Notifications link; pages that read or mark notifications keep it current. */
export const unreadNotifications = $state({ count: 0 });

export async function refreshUnread(): Promise<void> {
  try {
    unreadNotifications.count = (await companyApi.notifications(true)).unread;
  } catch {
    // The badge is a nicety: a failed refresh leaves the last count.
  }
}
